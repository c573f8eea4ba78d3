"""AccessRule (harness.osac.io/v1): what a Deny rule refuses, how, and what it never touches."""

from __future__ import annotations

import pytest
from kubernetes import client

from harness.contract.embedded import (
    ACCESS_RULE_KIND,
    ACCESS_RULE_PLURAL,
    API_VERSION,
    GROUP,
    VERSION,
    access_rule,
    deny_rule,
)

from .helpers import api_error, body_of, unique, watch_events
from .identities import ALICE, HARNESS, KUBEVIRT, KUBEVIRT_VERSION, OPERATOR, VMIS, VMS


def _vmis(ids, who, verb, namespace, *args, **kwargs):
    custom = ids.custom(who)
    call = getattr(custom, f"{verb}_namespaced_custom_object")
    return call(KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS, *args, **kwargs)


def _status(call, *args, **kwargs) -> int:
    """The HTTP status of a client call: 2xx as 200, errors as their code."""
    try:
        call(*args, **kwargs)
    except client.ApiException as error:
        return error.status
    return 200


def _refused(call, *args, **kwargs) -> dict:
    error = api_error(call, *args, **kwargs)
    assert error.status == 403, error.body
    return body_of(error)


def test_deny_refuses_exactly_the_matching_request(identities):
    ids = identities
    namespace, elsewhere = ids.namespace(), ids.namespace()
    for name in ("vm-a", "vm-b"):
        ids.vmi(namespace, name)
    ids.vmi(elsewhere, "vm-a")
    ids.vm(namespace, "vm-a")
    rule = deny_rule(
        unique("deny"), "delete", KUBEVIRT, VMIS, namespaces=namespace, names="vm-a", users=OPERATOR
    )
    with ids.rule(rule):
        delete = ids.custom("operator").delete_namespaced_custom_object
        assert _status(delete, KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS, "vm-a") == 403
        # another verb, resource, name, namespace, user: all let through
        assert _vmis(ids, "operator", "get", namespace, "vm-a")["metadata"]["name"] == "vm-a"
        _vmis(ids, "operator", "patch", namespace, "vm-a", {"metadata": {"labels": {"p": "1"}}})
        assert _status(delete, KUBEVIRT, KUBEVIRT_VERSION, namespace, VMS, "vm-a") == 200
        assert _status(delete, KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS, "vm-b") == 200
        assert _status(delete, KUBEVIRT, KUBEVIRT_VERSION, elsewhere, VMIS, "vm-a") == 200
        alice = ids.custom("alice").delete_namespaced_custom_object
        assert _status(alice, KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS, "vm-a") == 200


def test_every_user_but_the_excepted(identities):
    ids = identities
    namespace = ids.namespace()
    rule = deny_rule(
        unique("deny"), ["create"], KUBEVIRT, VMIS, namespaces=namespace, except_users=HARNESS
    )
    with ids.rule(rule):
        for who in ("operator", "alice"):
            body = _refused(
                ids.custom(who).create_namespaced_custom_object,
                KUBEVIRT,
                KUBEVIRT_VERSION,
                namespace,
                VMIS,
                {"metadata": {"name": "vm-x"}, "spec": {}},
            )
            user = {"operator": OPERATOR, "alice": ALICE}[who]
            assert body["message"] == (
                "virtualmachineinstances.kubevirt.io is forbidden: "
                f'User "{user}" cannot create resource "virtualmachineinstances" '
                f'in API group "kubevirt.io" in the namespace "{namespace}"'
            )
            assert body["details"] == {"group": KUBEVIRT, "kind": VMIS}
        assert ids.vmi(namespace, "vm-x")["metadata"]["name"] == "vm-x"


def test_forbidden_status_is_kube_apiservers(identities):
    ids = identities
    namespace = ids.namespace("tenant-harness")
    ids.vmi(namespace, "vm-abc12")
    rule = deny_rule(unique("deny"), "delete", KUBEVIRT, VMIS, namespaces=namespace, users=OPERATOR)
    with ids.rule(rule):
        body = _refused(_vmis, ids, "operator", "delete", namespace, "vm-abc12")
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'virtualmachineinstances.kubevirt.io "vm-abc12" is forbidden: User '
        '"system:serviceaccount:osac-operator-system:controller-manager" cannot delete resource '
        '"virtualmachineinstances" in API group "kubevirt.io" in the namespace "tenant-harness"',
        "reason": "Forbidden",
        "details": {"name": "vm-abc12", "group": "kubevirt.io", "kind": "virtualmachineinstances"},
        "code": 403,
    }
    _vmis(ids, "operator", "delete", namespace, "vm-abc12")


def test_messages_for_core_cluster_collection_and_subresource(identities):
    ids = identities
    namespace = ids.namespace()
    ids.core().create_namespaced_config_map(namespace, {"metadata": {"name": "cm1"}})
    ids.vm(namespace, "vm1")
    core, custom = ids.core("alice"), ids.custom("alice")
    everything = access_rule(
        unique("all"), effect="Deny", verbs="*", api_groups="*", resources="*", users=ALICE
    )
    ns_text = f'in the namespace "{namespace}"'
    cases = [
        (
            lambda: core.read_namespaced_config_map("cm1", namespace),
            f'configmaps "cm1" is forbidden: User "alice" cannot get resource "configmaps" '
            f'in API group "" {ns_text}',
            {"name": "cm1", "kind": "configmaps"},
        ),
        (
            lambda: core.list_namespaced_config_map(namespace, field_selector="metadata.name=cm1"),
            f'configmaps "cm1" is forbidden: User "alice" cannot list resource "configmaps" '
            f'in API group "" {ns_text}',
            {"name": "cm1", "kind": "configmaps"},
        ),
        (
            lambda: core.delete_collection_namespaced_config_map(namespace),
            'configmaps is forbidden: User "alice" cannot deletecollection resource '
            f'"configmaps" in API group "" {ns_text}',
            {"kind": "configmaps"},
        ),
        (
            core.list_namespace,
            'namespaces is forbidden: User "alice" cannot list resource "namespaces" '
            'in API group "" at the cluster scope',
            {"kind": "namespaces"},
        ),
        (
            lambda: core.read_namespace(namespace),
            f'namespaces "{namespace}" is forbidden: User "alice" cannot get resource '
            f'"namespaces" in API group "" {ns_text}',
            {"name": namespace, "kind": "namespaces"},
        ),
        (
            lambda: custom.list_cluster_custom_object(KUBEVIRT, KUBEVIRT_VERSION, VMIS),
            'virtualmachineinstances.kubevirt.io is forbidden: User "alice" cannot list resource '
            '"virtualmachineinstances" in API group "kubevirt.io" at the cluster scope',
            {"group": KUBEVIRT, "kind": VMIS},
        ),
        (
            lambda: custom.patch_namespaced_custom_object_status(
                KUBEVIRT, KUBEVIRT_VERSION, namespace, VMS, "vm1", {"status": {"ready": True}}
            ),
            'virtualmachines.kubevirt.io "vm1" is forbidden: User "alice" cannot patch resource '
            f'"virtualmachines/status" in API group "kubevirt.io" {ns_text}',
            {"name": "vm1", "group": KUBEVIRT, "kind": VMS},
        ),
        (
            lambda: client.AuthenticationV1Api(ids.api("alice")).create_self_subject_review(
                client.V1SelfSubjectReview()
            ),
            'selfsubjectreviews.authentication.k8s.io is forbidden: User "alice" cannot create '
            'resource "selfsubjectreviews" in API group "authentication.k8s.io" '
            "at the cluster scope",
            {"group": "authentication.k8s.io", "kind": "selfsubjectreviews"},
        ),
    ]
    # Alice denies herself everything: her own rule stays hers to read and delete (no lock-out).
    with ids.rule(everything, who="alice"):
        for call, message, details in cases:
            body = _refused(call)
            assert (body["message"], body["details"]) == (message, details)
        rules = custom.list_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL)
        assert everything["metadata"]["name"] in [r["metadata"]["name"] for r in rules["items"]]
    assert core.read_namespaced_config_map("cm1", namespace).metadata.name == "cm1"
    assert core.list_namespace().items


def test_rules_apply_from_the_next_request_until_deleted(identities):
    ids = identities
    namespace = ids.namespace()
    for name in ("vm-a", "vm-b"):
        ids.vmi(namespace, name)
    get = ids.custom("operator").get_namespaced_custom_object
    args = (KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS)
    name = unique("deny")
    rules = ids.custom()
    with ids.rule(deny_rule(name, "get", KUBEVIRT, VMIS, names="vm-a", users=OPERATOR)):
        assert (_status(get, *args, "vm-a"), _status(get, *args, "vm-b")) == (403, 200)
        rules.patch_cluster_custom_object(
            GROUP, VERSION, ACCESS_RULE_PLURAL, name, {"spec": {"names": ["vm-b"]}}
        )
        assert (_status(get, *args, "vm-a"), _status(get, *args, "vm-b")) == (200, 403)
        rules.delete_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, name)
        assert (_status(get, *args, "vm-a"), _status(get, *args, "vm-b")) == (200, 200)


def test_names_match_named_requests_only(identities):
    """RBAC resourceNames: create and deletecollection carry no name; list and watch carry one
    only through a `metadata.name` field selector."""
    ids = identities
    namespace = ids.namespace()
    for name in ("vm-a", "vm-b"):
        ids.vmi(namespace, name)
    operator = ids.custom("operator")
    args = (KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS)
    named = deny_rule(
        unique("named"), "*", KUBEVIRT, VMIS, namespaces=namespace, names="vm-a", users=OPERATOR
    )
    with ids.rule(named):
        assert _status(operator.get_namespaced_custom_object, *args, "vm-a") == 403
        assert _status(operator.get_namespaced_custom_object, *args, "vm-b") == 200
        listing = operator.list_namespaced_custom_object
        assert _status(listing, *args) == 200
        for selector, status in [
            ("metadata.name=vm-a", 403),
            ("metadata.name==vm-a", 403),
            (f"metadata.namespace={namespace},metadata.name=vm-a", 403),
            ("metadata.name=vm-b", 200),
            ("metadata.name!=vm-a", 200),
        ]:
            assert _status(listing, *args, field_selector=selector) == status, selector
        error = api_error(watch_events, listing, *args, field_selector="metadata.name=vm-a")
        assert error.status == 403
        events = watch_events(listing, *args, until=lambda events: len(events) == 2)
        assert sorted(e["object"]["metadata"]["name"] for e in events) == ["vm-a", "vm-b"]
        create = operator.create_namespaced_custom_object
        existing = {
            "apiVersion": f"{KUBEVIRT}/{KUBEVIRT_VERSION}",
            "kind": "VirtualMachineInstance",
            "metadata": {"name": "vm-a"},
            "spec": {},
        }
        assert _status(create, *args, existing) == 409
        delete_all = operator.delete_collection_namespaced_custom_object
        assert _status(delete_all, *args, label_selector="none=matching") == 200
    unnamed = deny_rule(
        unique("unnamed"),
        ["list", "deletecollection", "create"],
        KUBEVIRT,
        VMIS,
        namespaces=namespace,
        users=OPERATOR,
    )
    with ids.rule(unnamed):
        assert _status(operator.list_namespaced_custom_object, *args) == 403
        assert _status(delete_all, *args, label_selector="none=matching") == 403
        assert _status(create, *args, {"metadata": {"name": "vm-c"}, "spec": {}}) == 403


def test_server_internal_deletes_ignore_rules(identities):
    """Garbage collection and the namespace cascade delete what no client may delete."""
    ids = identities
    namespace = ids.namespace()
    owner = ids.vm(namespace, "vm-owned")
    ref = {
        "apiVersion": f"{KUBEVIRT}/{KUBEVIRT_VERSION}",
        "kind": "VirtualMachine",
        "name": "vm-owned",
        "uid": owner["metadata"]["uid"],
    }
    child = ids.vmi(namespace, "vm-owned", ownerReferences=[ref])
    ids.vmi(namespace, "vm-loose")
    keep = deny_rule(
        unique("keep"), ["delete", "deletecollection"], KUBEVIRT, VMIS, namespaces=namespace
    )
    with ids.rule(keep):
        assert _status(_vmis, ids, "harness", "delete", namespace, "vm-owned") == 403
        ids.custom().delete_namespaced_custom_object(
            KUBEVIRT, KUBEVIRT_VERSION, namespace, VMS, "vm-owned"
        )
        events = watch_events(
            ids.custom().list_namespaced_custom_object,
            *(KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS),
            resource_version=child["metadata"]["resourceVersion"],
            until=lambda events: events[-1]["type"] == "DELETED",
        )
        assert [e["object"]["metadata"]["name"] for e in events if e["type"] == "DELETED"] == [
            "vm-owned"
        ]
        before = ids.core().read_namespace(namespace).metadata.resource_version
        ids.core().delete_namespace(namespace)
        namespaces = watch_events(
            ids.core().list_namespace,
            field_selector=f"metadata.name={namespace}",
            resource_version=before,
            until=lambda events: events[-1]["type"] == "DELETED",
        )
        assert namespaces[-1]["type"] == "DELETED"


@pytest.mark.parametrize(
    ("spec", "causes"),
    [
        ({"effect": "Allow"}, [("FieldValueNotSupported", "spec.effect")]),
        ({"effect": None}, [("FieldValueRequired", "spec.effect")]),
        ({"verbs": ["get", "destroy"]}, [("FieldValueNotSupported", "spec.verbs[1]")]),
        ({"verbs": []}, [("FieldValueRequired", "spec.verbs")]),
        ({"apiGroups": None}, [("FieldValueRequired", "spec.apiGroups")]),
        ({"resources": []}, [("FieldValueRequired", "spec.resources")]),
        ({"resources": [""]}, [("FieldValueRequired", "spec.resources[0]")]),
        ({"users": []}, [("FieldValueRequired", "spec.users")]),
        ({"names": ["*"]}, [("FieldValueInvalid", "spec.names[0]")]),
        ({"exceptUsers": ["bob", "*"]}, [("FieldValueInvalid", "spec.exceptUsers[1]")]),
        (
            {"verbs": [], "users": None},
            [("FieldValueRequired", "spec.verbs"), ("FieldValueRequired", "spec.users")],
        ),
        (None, [("FieldValueRequired", "spec")]),
    ],
)
def test_invalid_specs_are_422(identities, spec, causes):
    body = deny_rule(unique("bad"), "delete", KUBEVIRT, VMIS)
    if spec is None:
        del body["spec"]
    else:
        body["spec"].update(spec)
        body["spec"] = {key: value for key, value in body["spec"].items() if value is not None}
    error = api_error(
        identities.custom().create_cluster_custom_object, GROUP, VERSION, ACCESS_RULE_PLURAL, body
    )
    assert error.status == 422, error.body
    status = body_of(error)
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == ACCESS_RULE_KIND
    assert status["details"]["group"] == GROUP
    assert [(c["reason"], c["field"]) for c in status["details"]["causes"]] == causes


def test_invalid_update_is_422_and_keeps_the_rule(identities):
    custom = identities.custom()
    body = deny_rule(unique("upd"), "delete", KUBEVIRT, VMIS, users=ALICE)
    with identities.rule(body) as created:
        created["spec"]["verbs"] = []
        name = body["metadata"]["name"]
        error = api_error(
            custom.replace_cluster_custom_object, GROUP, VERSION, ACCESS_RULE_PLURAL, name, created
        )
        assert error.status == 422
        stored = custom.get_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, name)
        assert stored["spec"]["verbs"] == ["delete"]


def test_access_rule_is_an_ordinary_api_resource(identities):
    custom = identities.custom()
    resources = custom.get_api_resources(GROUP, VERSION).resources
    [entry] = [r for r in resources if r.name == ACCESS_RULE_PLURAL]
    assert (entry.kind, entry.singular_name, entry.namespaced) == (
        ACCESS_RULE_KIND,
        "accessrule",
        False,
    )
    assert sorted(entry.verbs) == sorted(
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    groups = {g.name for g in client.ApisApi(identities.api("harness")).get_api_versions().groups}
    assert {GROUP, "authentication.k8s.io"} <= groups

    name = unique("crud")
    body = deny_rule(name, "delete", KUBEVIRT, VMIS, users=ALICE)
    body["spec"]["unknownField"] = "pruned"
    created = custom.create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, body)
    assert created["apiVersion"] == API_VERSION
    assert "unknownField" not in created["spec"]
    assert created["metadata"]["uid"] and "namespace" not in created["metadata"]
    listed = custom.list_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL)
    assert listed["kind"] == "AccessRuleList"
    assert name in [item["metadata"]["name"] for item in listed["items"]]
    custom.patch_cluster_custom_object(
        GROUP, VERSION, ACCESS_RULE_PLURAL, name, {"spec": {"verbs": ["delete", "patch"]}}
    )
    custom.delete_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, name)
    events = watch_events(
        custom.list_cluster_custom_object,
        GROUP,
        VERSION,
        ACCESS_RULE_PLURAL,
        field_selector=f"metadata.name={name}",
        resource_version=created["metadata"]["resourceVersion"],
        until=lambda events: events[-1]["type"] == "DELETED",
    )
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["spec"]["verbs"] == ["delete", "patch"]
