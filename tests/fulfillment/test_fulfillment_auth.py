"""Tokens file parsing and the authentication rules (without a server)."""

from __future__ import annotations

import json

import grpc
import pytest

from harness.contract.profiles import OSAC
from harness.reference.fulfillment.bearer_auth import Authenticator, Denied
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
