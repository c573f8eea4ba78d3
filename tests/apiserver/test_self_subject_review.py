"""SelfSubjectReview (authentication.k8s.io/v1): the caller's identity, as `kubectl auth whoami`."""

from __future__ import annotations

import pytest
from kubernetes import client

from .helpers import raw
from .identities import ALICE, HARNESS, OPERATOR

SA_GROUPS = ["system:serviceaccounts"]
PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


@pytest.mark.parametrize(
    ("who", "username", "groups"),
    [
        (
            "harness",
            HARNESS,
            [*SA_GROUPS, "system:serviceaccounts:harness", "system:authenticated"],
        ),
        (
            "operator",
            OPERATOR,
            [*SA_GROUPS, "system:serviceaccounts:osac-operator-system", "system:authenticated"],
        ),
        ("alice", ALICE, ["system:authenticated"]),
    ],
)
def test_self_subject_review_names_the_caller(identities, who, username, groups):
    api = client.AuthenticationV1Api(identities.api(who))
    review = api.create_self_subject_review(client.V1SelfSubjectReview())
    assert isinstance(review, client.V1SelfSubjectReview)
    assert review.kind == "SelfSubjectReview"
    assert review.api_version == "authentication.k8s.io/v1"
    assert review.metadata.creation_timestamp is not None
    assert (review.status.user_info.username, review.status.user_info.groups) == (
        username,
        groups,
    )


def test_self_subject_review_is_create_only_and_discoverable(identities):
    api_client = identities.api("harness")
    resources = client.AuthenticationV1Api(api_client).get_api_resources()
    assert resources.group_version == "authentication.k8s.io/v1"
    [entry] = [r for r in resources.resources if r.name == "selfsubjectreviews"]
    assert (entry.kind, entry.namespaced, entry.verbs) == ("SelfSubjectReview", False, ["create"])
    assert raw(api_client, "GET", PATH)[0] == 405
    assert raw(api_client, "DELETE", PATH)[0] == 405
    assert raw(api_client, "GET", f"{PATH}/me")[0] == 404
    status, body = raw(api_client, "POST", PATH, {"kind": "TokenReview"})
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = raw(api_client, "POST", PATH, {})
    assert (status, body["status"]["userInfo"]["username"]) == (201, HARNESS)
