"""`--fault apiserver:…`: errors, resets, latency and dropped watches, at the configured rate and
scope, from one seed; through the official client on real sockets."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import urllib3
from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

from harness.contract.embedded import ACCESS_RULE_PLURAL, GROUP, VERSION, deny_rule
from harness.contract.fault_specs import Chance

from .faulty import DROPPED, outcome, start_faulty
from .helpers import api_error, body_of, unique

HARNESS = "system:serviceaccount:harness:e2e"


def _configmap(name: str) -> dict:
    return {"metadata": {"name": name}, "data": {"k": "v"}}


def _status(call, *args, **kwargs) -> int | str:
    try:
        call(*args, **kwargs)
    except client.ApiException as error:
        return int(error.status)
    except urllib3.exceptions.HTTPError as error:
        return type(error).__name__
    return 200


def test_without_faults_or_out_of_their_scope_nothing_changes(tmp_path):
    plain = start_faulty(tmp_path / "plain", [])
    scoped = start_faulty(
        tmp_path / "scoped",
        ["apiserver:error=503,users=alice", "apiserver:latency=1s,users=alice"],
    )
    try:
        for server in (plain, scoped):
            core = server.core()
            started = time.monotonic()
            for index in range(20):
                core.create_namespaced_config_map("default", _configmap(f"cm-{index}"))
                core.read_namespaced_config_map(f"cm-{index}", "default")
                core.patch_namespaced_config_map(f"cm-{index}", "default", {"data": {"k": "w"}})
            assert len(core.list_namespaced_config_map("default").items) == 20
            core.delete_collection_namespaced_config_map("default")
            assert time.monotonic() - started < 2.0
            assert not [r for r in server.mark() if "fault" in r]
        alice = scoped.core("alice")
        assert _status(alice.list_namespaced_config_map, "default") == 503
        assert [r["user"] for r in scoped.mark() if "fault" in r] == ["alice"]
    finally:
        plain.server.stop()
        scoped.server.stop()


def test_error_rate_follows_the_seed_and_draws_only_in_scope(tmp_path):
    spec = "apiserver:error=503,rate=0.3,verbs=get,resources=configmaps"
    server = start_faulty(tmp_path, [spec], seed=7)
    try:
        core = server.core()
        core.create_namespaced_config_map("default", _configmap("target"))
        seen = []
        for _ in range(60):
            seen.append(_status(core.read_namespaced_config_map, "target", "default"))
            # out of scope (another verb, another resource, another verb on the same object):
            assert _status(core.list_namespaced_config_map, "default") == 200
            assert _status(core.read_namespace, "default") == 200
            assert _status(core.patch_namespaced_config_map, "target", "default", {}) == 200
        chance = Chance(0.3, f"7/apiserver/0/{spec}")
        expected = [503 if chance.fires() else 200 for _ in range(60)]
        assert seen == expected
        assert 5 < seen.count(503) < 35
        faulted = [r for r in server.mark() if "fault" in r]
        assert len(faulted) == seen.count(503)
        assert {(r["verb"], r["resource"], r["status"]) for r in faulted} == {
            ("get", "configmaps", 503)
        }
    finally:
        server.server.stop()


def test_failures_are_kubernetes_status_bodies_and_change_nothing(tmp_path):
    server = start_faulty(
        tmp_path,
        [
            f"apiserver:error=500,verbs=get,users={HARNESS}",
            f"apiserver:error=503,verbs=list,users={HARNESS}",
            f"apiserver:error=429,retry-after=2,verbs=create,users={HARNESS}",
        ],
    )
    try:
        core, alice = server.core(), server.core("alice")
        alice.create_namespaced_config_map("default", _configmap("seen"))

        error = api_error(core.read_namespaced_config_map, "seen", "default")
        body = body_of(error)
        assert (error.status, body["kind"], body["status"], body["reason"]) == (
            500,
            "Status",
            "Failure",
            "InternalError",
        )
        assert body["message"].startswith("Internal error occurred: injected fault on get")
        assert body["details"]["causes"][0]["message"] in body["message"]

        body = body_of(api_error(core.list_namespaced_config_map, "default"))
        assert (body["code"], body["reason"]) == (503, "ServiceUnavailable")
        assert body["message"].startswith("the server is currently unable to handle the request")

        error = api_error(core.create_namespaced_config_map, "default", _configmap("new"))
        body = body_of(error)
        assert (error.status, body["reason"], body["details"]) == (
            429,
            "TooManyRequests",
            {"retryAfterSeconds": 2},
        )
        assert error.headers["Retry-After"] == "2"
        assert [cm.metadata.name for cm in alice.list_namespaced_config_map("default").items] == [
            "seen"
        ]
    finally:
        server.server.stop()


def test_reset_closes_the_connection_without_an_answer_and_changes_nothing(tmp_path):
    server = start_faulty(tmp_path, ["apiserver:error=reset,verbs=create,resources=configmaps"])
    try:
        core = server.core()
        assert outcome(core.create_namespaced_config_map, "default", _configmap("never")) == DROPPED
        # the next request, on a new connection, is served; nothing was created
        assert core.list_namespaced_config_map("default").items == []
        core.create_namespaced_secret("default", {"metadata": {"name": "other"}})
        reset = [r for r in server.mark() if "fault" in r]
        assert [(r["verb"], r["resource"], r["status"]) for r in reset] == [
            ("create", "configmaps", 0)
        ]
    finally:
        server.server.stop()


def test_latency_delays_matching_requests_and_adds_to_an_error(tmp_path):
    server = start_faulty(
        tmp_path,
        [
            "apiserver:latency=300ms,verbs=get",
            "apiserver:latency=200ms,verbs=get,resources=secrets",
            "apiserver:error=503,verbs=get,resources=secrets",
        ],
    )
    try:
        core = server.core()
        core.create_namespaced_config_map("default", _configmap("slow"))

        def timed(call, *args):
            started = time.monotonic()
            outcome = _status(call, *args)
            return outcome, time.monotonic() - started

        outcome, seconds = timed(core.read_namespaced_config_map, "slow", "default")
        assert outcome == 200 and 0.3 <= seconds < 1.5
        outcome, seconds = timed(core.list_namespaced_config_map, "default")
        assert outcome == 200 and seconds < 0.25
        outcome, seconds = timed(core.read_namespaced_secret, "any", "default")
        assert outcome == 503 and 0.5 <= seconds < 2.0
        delayed = [r for r in server.mark() if "latencyMs" in r]
        assert [r["latencyMs"] for r in delayed] == [300, 500]
    finally:
        server.server.stop()


def _stream_events(core, resource_version: str) -> tuple[list[dict], str]:
    """Read one watch stream to its end: its events and how it ended."""
    response = core.list_namespaced_config_map(
        "default",
        watch=True,
        resource_version=resource_version,
        timeout_seconds=5,
        _preload_content=False,
    )
    events: list[dict] = []
    try:
        events.extend(json.loads(line) for line in iter_resp_lines(response) if line.strip())
    except urllib3.exceptions.ProtocolError:
        # Over TLS a reset reaches the client as a stream cut short (OpenSSL's unexpected EOF),
        # not as ConnectionResetError.
        return events, "cut"
    finally:
        response.release_conn()
    return events, "end"


@pytest.mark.parametrize(("error", "ending"), [("503", "end"), ("reset", "cut")])
def test_a_watch_fault_drops_the_stream_after_its_first_events(tmp_path, error, ending):
    """Each watch ends after its first batch; resuming from the last resourceVersion loses
    nothing."""
    server = start_faulty(tmp_path, [f"apiserver:error={error},verbs=watch"])
    try:
        core = server.core()
        version = core.list_namespaced_config_map("default").metadata.resource_version
        received: list[str] = []
        endings: list[str] = []
        for index in range(4):
            core.create_namespaced_config_map("default", _configmap(f"cm-{index}"))
            core.create_namespaced_config_map("default", _configmap(f"cm-{index}-b"))
            while len(received) < 2 * (index + 1):
                events, how = _stream_events(core, version)
                endings.append(how)
                received += [event["object"]["metadata"]["name"] for event in events]
                if events:
                    version = events[-1]["object"]["metadata"]["resourceVersion"]
        expected = [name for index in range(4) for name in (f"cm-{index}", f"cm-{index}-b")]
        assert received == expected
        assert set(endings) == {ending}
        assert len(endings) <= len(expected)
        dropped = [r for r in server.mark() if r["verb"] == "watch"]
        assert all("fault" in r for r in dropped)
    finally:
        server.server.stop()


def test_discovery_and_access_rules_are_never_faulted(tmp_path):
    server = start_faulty(tmp_path, ["apiserver:error=503", "apiserver:error=reset,verbs=create"])
    try:
        api = server.api()
        assert client.VersionApi(api).get_code().git_version
        assert client.CoreV1Api(api).get_api_resources().resources
        custom = client.CustomObjectsApi(api)
        name = unique("rule")
        custom.create_cluster_custom_object(
            GROUP, VERSION, ACCESS_RULE_PLURAL, deny_rule(name, "get", "", "secrets")
        )
        assert custom.list_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL)["items"]
        custom.delete_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, name)
        assert _status(server.core().list_namespaced_config_map, "default") == 503
    finally:
        server.server.stop()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("apiserver:error=418", "error must be one of 429, 500, 503, reset, got '418'"),
        ("apiserver:latency=soon", "'soon' is not a duration"),
        ("apiserver:error=503,verbs=get|fetch", "verbs takes get|list|watch"),
        ("apiserver:never-recreate", "unknown setting 'never-recreate' for apiserver"),
        ("kubevirt:never-recreate", "addressed to kubevirt, not to apiserver"),
    ],
)
def test_a_bad_fault_is_one_line_and_exit_code_2(spec, fragment):
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.apiserver", "--fault", spec],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("apiserver: error: fault ")
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_example_of_the_grammar_parses():
    """The examples in harness/contract/fault_specs.py's docstring are valid specs."""
    import harness.contract.fault_specs as grammar

    examples = [
        line.split()[0]
        for line in (grammar.__doc__ or "").splitlines()
        if line.startswith("    ") and ":" in line.split()[0]
    ]
    assert len(examples) >= 9
    for text in examples:
        spec = grammar.parse_fault(text)
        assert spec.effect in spec.settings
