"""TokenRequest (`serviceaccounts/token`) through the official client: a minted token is that
ServiceAccount from then on; a missing account is 404, a too-short lifetime 422."""

from __future__ import annotations

import pytest
from kubernetes import client

from .helpers import raw, unique


def mint(core, namespace, name, seconds=3600):
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    return core.create_namespaced_service_account_token(name, namespace, request)


def test_minted_token_authenticates_as_the_service_account(identities, tmp_path):
    core = identities.core()
    namespace = identities.namespace()
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "admin"}})
    answer = mint(core, namespace, "admin")
    assert answer.status.token and answer.status.expiration_timestamp is not None
    config = identities.server.kubeconfig_for(answer.status.token, "minted")
    minted = client.AuthenticationV1Api(
        __import__("kubernetes").config.new_client_from_config(str(config))
    )
    review = minted.create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status.user_info.username == f"system:serviceaccount:{namespace}:admin"


def test_token_for_a_missing_account_or_too_short_is_refused(identities):
    core = identities.core()
    namespace = identities.namespace()
    with pytest.raises(client.ApiException) as missing:
        mint(core, namespace, unique("nobody"))
    assert missing.value.status == 404
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "short"}})
    with pytest.raises(client.ApiException) as short:
        mint(core, namespace, "short", seconds=60)
    assert short.value.status == 422
    assert "less than 600 seconds" in short.value.body


def test_post_to_a_named_object_is_not_a_create(identities):
    core = identities.core()
    namespace = identities.namespace()
    status, _ = raw(
        identities.api("harness"),
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps/x",
        body={"metadata": {"name": "x"}},
    )
    assert status == 405
    assert core.list_namespaced_config_map(namespace).items == []
