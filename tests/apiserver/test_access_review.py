"""SelfSubjectAccessReview and SubjectAccessReview (authorization.k8s.io/v1) through the official
client: the answer is what the same request would meet, i.e. "no" exactly where a Deny
AccessRule matches, with the rule named; fault rules are not authorization."""

from __future__ import annotations

import pytest
from kubernetes import client

from harness.contract.embedded import FAIL, access_rule, deny_rule

from .identities import KUBEVIRT, OPERATOR, VMIS


def ssar(identities, who, verb, resource=VMIS, group=KUBEVIRT, namespace="tenant-a"):
    api = client.AuthorizationV1Api(identities.api(who))
    body = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, group=group, resource=resource, namespace=namespace
            )
        )
    )
    return api.create_self_subject_access_review(body)


def sar(identities, user, verb, namespace="tenant-a"):
    api = client.AuthorizationV1Api(identities.api("harness"))
    body = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, group=KUBEVIRT, resource=VMIS, namespace=namespace
            ),
        )
    )
    return api.create_subject_access_review(body)


def test_without_rules_everything_is_allowed(identities):
    review = ssar(identities, "alice", "delete")
    assert review.kind == "SelfSubjectAccessReview"
    assert review.status.allowed is True
    assert review.spec.resource_attributes.verb == "delete"


def test_a_deny_rule_answers_no_for_its_user_verb_and_namespace_only(identities):
    rule = deny_rule(
        "review-no-vmi-delete", "delete", KUBEVIRT, VMIS, namespaces="tenant-a", users=OPERATOR
    )
    with identities.rule(rule):
        denied = ssar(identities, "operator", "delete")
        assert denied.status.allowed is False
        assert "review-no-vmi-delete" in denied.status.reason
        assert ssar(identities, "operator", "list").status.allowed is True
        assert ssar(identities, "operator", "delete", namespace="tenant-b").status.allowed is True
        assert ssar(identities, "alice", "delete").status.allowed is True
        # The same question about the operator, asked by someone else.
        about = sar(identities, OPERATOR, "delete")
        assert about.kind == "SubjectAccessReview" and about.status.allowed is False
        assert "system:serviceaccounts" in about.spec.groups
        assert sar(identities, "alice", "delete").status.allowed is True
        # And the request itself meets the same answer.
        with pytest.raises(client.ApiException) as refused:
            identities.custom("operator").delete_namespaced_custom_object(
                KUBEVIRT, "v1", "tenant-a", VMIS, "any"
            )
        assert refused.value.status == 403


def test_fault_rules_are_not_authorization(identities):
    rule = access_rule(
        "review-flaky", effect=FAIL, code=503, verbs="delete", api_groups=KUBEVIRT, resources=VMIS
    )
    with identities.rule(rule):
        assert ssar(identities, "alice", "delete").status.allowed is True


def test_a_review_without_attributes_or_user_is_invalid(identities):
    api = client.AuthorizationV1Api(identities.api("harness"))
    with pytest.raises(client.ApiException) as missing:
        api.create_self_subject_access_review(
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}
        )
    assert missing.value.status == 422
    with pytest.raises(client.ApiException) as no_user:
        api.create_subject_access_review(
            {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}
        )
    assert no_user.value.status == 422
    allowed = api.create_self_subject_access_review(
        {"spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}}
    )
    assert allowed.status.allowed is True
