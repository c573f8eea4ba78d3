"""Tokens file parsing, TokenReview and the authentication rules (without a server)."""

from __future__ import annotations

import json

import grpc
import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from harness.contract.profiles import OSAC
from harness.reference.fulfillment.bearer_auth import Authenticator, Denied
from harness.reference.fulfillment.token_review import AUDIENCES, CACHE_SECONDS, TokenReviewSource
from harness.reference.fulfillment.tokens import (
    Identity,
    TokenFileError,
    load_tokens,
    parse_tokens,
)

USER = {"token": "u", "subject": "system:serviceaccount:t:e2e", "admin": False, "tenant": "t"}
ADMIN = {"token": "a", "subject": "system:serviceaccount:hub:admin", "admin": True, "tenant": "t"}
PUBLIC_LIST = f"/{OSAC.grpc.public_service}/List"
PRIVATE_LIST = f"/{OSAC.grpc.private_service}/List"


def test_parse_tokens():
    tokens = parse_tokens({"tokens": [USER, ADMIN]})
    assert tokens["u"] == Identity("system:serviceaccount:t:e2e", False, "t")
    assert tokens["a"].admin


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], '"tokens" list'),
        ({"tokens": []}, "no tokens"),
        ({"tokens": ["x"]}, "tokens[0]: expected an object"),
        ({"tokens": [{**USER, "token": ""}]}, "'token' must be a non-empty string"),
        ({"tokens": [{**USER, "tenant": None}]}, "'tenant'"),
        ({"tokens": [{**USER, "admin": "yes"}]}, "'admin' must be true or false"),
        ({"tokens": [USER, USER]}, "tokens[1]: duplicate token"),
    ],
)
def test_bad_tokens_data(data, fragment):
    with pytest.raises(TokenFileError) as raised:
        parse_tokens(data)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_load_tokens_file_errors(tmp_path):
    with pytest.raises(TokenFileError, match="cannot read tokens file"):
        load_tokens(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(TokenFileError, match="is not valid JSON"):
        load_tokens(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"tokens": [USER]}))
    assert set(load_tokens(good)) == {"u"}


@pytest.fixture
def authenticator() -> Authenticator:
    return Authenticator(parse_tokens({"tokens": [USER, ADMIN]}), [OSAC.grpc.private_service])


@pytest.mark.parametrize(
    ("metadata", "code", "fragment"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED, "missing credentials"),
        ((("authorization", "Basic u"),), grpc.StatusCode.UNAUTHENTICATED, "malformed"),
        ((("authorization", "Bearer "),), grpc.StatusCode.UNAUTHENTICATED, "malformed"),
        ((("authorization", "Bearer zzz"),), grpc.StatusCode.UNAUTHENTICATED, "invalid token"),
    ],
)
def test_authentication_failures(authenticator, metadata, code, fragment):
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PUBLIC_LIST, metadata)
    assert raised.value.code == code
    assert fragment in raised.value.message


def test_private_methods_need_an_admin(authenticator):
    user = (("authorization", "Bearer u"),)
    admin = (("authorization", "bearer a"),)
    assert authenticator.authenticate(PUBLIC_LIST, user).tenant == "t"
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PRIVATE_LIST, user)
    assert raised.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "system:serviceaccount:t:e2e" in raised.value.message
    assert authenticator.authenticate(PRIVATE_LIST, admin).admin


def test_reflection_and_health_are_open(authenticator):
    assert authenticator.is_open("/grpc.health.v1.Health/Check")
    assert authenticator.is_open("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert authenticator.is_open("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
    assert not authenticator.is_open(PUBLIC_LIST)


def test_a_refused_admin_call_names_the_subject_and_the_admins(authenticator):
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PRIVATE_LIST, (("authorization", "Bearer u"),))
    assert raised.value.message == (
        f"subject 'system:serviceaccount:t:e2e' may not call {PRIVATE_LIST}: the private API is "
        "for administrators only, and 'system:serviceaccount:t:e2e' is not one of its admin "
        "subjects (system:serviceaccount:hub:admin)"
    )


class FakeReviews:
    """AuthenticationV1Api's create_token_review: whom each known token stands for."""

    def __init__(self, users: dict[str, str], error: Exception | None = None) -> None:
        self.users = users
        self.error = error
        self.asked: list[tuple[str, list[str]]] = []

    def create_token_review(self, review, _request_timeout=None):
        self.asked.append((review.spec.token, review.spec.audiences))
        if self.error is not None:
            raise self.error
        user = self.users.get(review.spec.token)
        status = k8s.V1TokenReviewStatus(
            authenticated=user is not None,
            user=k8s.V1UserInfo(username=user) if user else None,
        )
        return k8s.V1TokenReview(spec=review.spec, status=status)


def reviewed(reviews: FakeReviews, clock=lambda: 0.0) -> Authenticator:
    source = TokenReviewSource(
        k8s.ApiClient(), ["system:serviceaccount:hub:admin"], "tenant-harness", clock=clock
    )
    source._api = reviews
    return Authenticator(source, [OSAC.grpc.private_service])


def test_token_review_decides_who_calls_and_the_admin_list_who_is_admin():
    reviews = FakeReviews(
        {"a": "system:serviceaccount:hub:admin", "u": "system:serviceaccount:tenant-harness:e2e"}
    )
    authenticator = reviewed(reviews)
    admin = authenticator.authenticate(PRIVATE_LIST, (("authorization", "Bearer a"),))
    assert admin == Identity("system:serviceaccount:hub:admin", True, "tenant-harness")
    user = authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer u"),))
    assert not user.admin and user.tenant == "tenant-harness"
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PRIVATE_LIST, (("authorization", "Bearer u"),))
    assert raised.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert raised.value.message.endswith(
        "and 'system:serviceaccount:tenant-harness:e2e' is not one of its admin subjects "
        "(system:serviceaccount:hub:admin)"
    )
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer zzz"),))
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert raised.value.message == "invalid token: not known to this server (TokenReview)"
    # The real AuthConfig's audiences.
    assert {tuple(audiences) for _, audiences in reviews.asked} == {AUDIENCES}


def test_token_reviews_are_remembered_briefly_and_refusals_never():
    now = [0.0]
    reviews = FakeReviews({"a": "system:serviceaccount:hub:admin"})
    authenticator = reviewed(reviews, clock=lambda: now[0])
    for _ in range(3):
        authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer a"),))
        with pytest.raises(Denied):
            authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer zzz"),))
    assert [token for token, _ in reviews.asked] == ["a", "zzz", "zzz", "zzz"]
    now[0] = CACHE_SECONDS + 1
    authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer a"),))
    assert [token for token, _ in reviews.asked][-1] == "a"


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (ApiException(status=403, reason="Forbidden"), "refused the TokenReview: 403 Forbidden"),
        (urllib3.exceptions.MaxRetryError(None, "/"), "unreachable for TokenReview"),
    ],
)
def test_a_token_review_that_cannot_be_asked_is_unavailable(error, fragment):
    authenticator = reviewed(FakeReviews({}, error=error))
    with pytest.raises(Denied) as raised:
        authenticator.authenticate(PUBLIC_LIST, (("authorization", "Bearer a"),))
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert fragment in raised.value.message
