"""AccessRule fault effects: Fail, Delay and Reset turned on and off at run time with the official
client, at a seeded rate, validated, and never on AccessRules themselves."""

from __future__ import annotations

import time

import pytest

from harness.contract.embedded import (
    ACCESS_RULE_PLURAL,
    DELAY,
    DENY,
    FAIL,
    GROUP,
    RESET,
    VERSION,
    WILDCARD,
    access_rule,
)
from harness.contract.fault_specs import Chance

from .faulty import DROPPED, FaultyServer, outcome, start_faulty
from .helpers import api_error, body_of, unique

HARNESS = "system:serviceaccount:harness:e2e"
SEED = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_faulty(tmp_path_factory.mktemp("fault-rules"), [], seed=SEED)
    try:
        yield running
    finally:
        running.server.stop()


def _rule(server: FaultyServer, body: dict) -> str:
    server.custom().create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, body)
    return body["metadata"]["name"]


def _drop(server: FaultyServer, name: str) -> None:
    server.custom().delete_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, name)


def _configmaps(effect: str, name: str | None = None, **fields) -> dict:
    return access_rule(
        name or unique(effect.lower()),
        effect=effect,
        verbs=fields.pop("verbs", ["get"]),
        api_groups="",
        resources="configmaps",
        users=HARNESS,
        **fields,
    )


_outcome = outcome


def test_a_fail_rule_turns_errors_on_and_off_at_run_time(server):
    core = server.core()
    core.create_namespaced_config_map("default", {"metadata": {"name": "on-off"}})
    name = _rule(server, _configmaps(FAIL, code=503))
    error = api_error(core.read_namespaced_config_map, "on-off", "default")
    body = body_of(error)
    assert (error.status, body["reason"]) == (503, "ServiceUnavailable")
    assert f"(injected by AccessRule {name})" in body["message"]
    assert _outcome(server.core("alice").read_namespaced_config_map, "on-off", "default") == 200
    _drop(server, name)
    assert _outcome(core.read_namespaced_config_map, "on-off", "default") == 200


def test_a_fail_rule_fires_at_its_seeded_rate(server):
    core = server.core()
    core.create_namespaced_config_map("default", {"metadata": {"name": "rated"}})
    name = _rule(server, _configmaps(FAIL, code=500, rate=0.4))
    try:
        seen = [_outcome(core.read_namespaced_config_map, "rated", "default") for _ in range(40)]
    finally:
        _drop(server, name)
    chance = Chance(0.4, f"{SEED}/accessrule/{name}")
    assert seen == [500 if chance.fires() else 200 for _ in range(40)]
    assert 4 < seen.count(500) < 30


def test_delay_and_reset_rules(server):
    core = server.core()
    core.create_namespaced_config_map("default", {"metadata": {"name": "slow"}})
    delay = _rule(server, _configmaps(DELAY, latency="300ms"))
    reset = _rule(server, _configmaps(RESET, verbs=["create"]))
    try:
        started = time.monotonic()
        core.read_namespaced_config_map("slow", "default")
        assert 0.3 <= time.monotonic() - started < 1.5
        created = _outcome(
            core.create_namespaced_config_map, "default", {"metadata": {"name": "x"}}
        )
        assert created == DROPPED
    finally:
        _drop(server, delay)
        _drop(server, reset)
    assert _outcome(core.read_namespaced_config_map, "x", "default") == 404
    started = time.monotonic()
    core.read_namespaced_config_map("slow", "default")
    assert time.monotonic() - started < 0.25


def test_a_delay_rule_adds_to_the_deny_rule_after_it(server):
    core = server.core()
    delay = _rule(server, _configmaps(DELAY, name=unique("a-delay"), latency="300ms"))
    deny = _rule(server, _configmaps(DENY, name=unique("b-deny")))
    try:
        started = time.monotonic()
        assert _outcome(core.read_namespaced_config_map, "any", "default") == 403
        assert time.monotonic() - started >= 0.3
    finally:
        _drop(server, delay)
        _drop(server, deny)


@pytest.mark.parametrize(
    ("fields", "causes"),
    [
        ({"effect": FAIL}, [("FieldValueRequired", "spec.code")]),
        ({"effect": FAIL, "code": 418}, [("FieldValueNotSupported", "spec.code")]),
        ({"effect": DELAY}, [("FieldValueRequired", "spec.latency")]),
        ({"effect": DELAY, "latency": "soon"}, [("FieldValueInvalid", "spec.latency")]),
        ({"effect": DENY, "rate": 0.5}, [("FieldValueForbidden", "spec.rate")]),
        ({"effect": RESET, "latency": "1s"}, [("FieldValueForbidden", "spec.latency")]),
        ({"effect": FAIL, "code": 503, "rate": 2}, [("FieldValueInvalid", "spec.rate")]),
    ],
)
def test_fault_fields_are_validated(server, fields, causes):
    body = access_rule(
        unique("bad"),
        effect=fields.pop("effect"),
        verbs="get",
        api_groups="",
        resources="configmaps",
        **{
            {"retryAfterSeconds": "retry_after_seconds"}.get(key, key): value
            for key, value in fields.items()
        },
    )
    error = api_error(
        server.custom().create_cluster_custom_object, GROUP, VERSION, ACCESS_RULE_PLURAL, body
    )
    assert error.status == 422, error.body
    found = [(c["reason"], c["field"]) for c in body_of(error)["details"]["causes"]]
    assert found == causes


def test_fault_rules_never_touch_access_rules(server):
    everything = access_rule(
        unique("everything"),
        effect=RESET,
        verbs=WILDCARD,
        api_groups=WILDCARD,
        resources=WILDCARD,
    )
    name = _rule(server, everything)
    try:
        custom = server.custom()
        assert custom.list_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL)["items"]
        assert _outcome(server.core().list_namespace) == DROPPED
    finally:
        _drop(server, name)
