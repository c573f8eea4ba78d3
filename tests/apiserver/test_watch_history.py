"""Watch and list history at its edges, as kube-apiserver v1.37.2 answers (measured): a
resourceVersion from before a resource's history (410 Expired, as an ERROR event in a 200
stream), one from the future (a watch waits in silence, a list times out with 504), unparsable
ones, `resourceVersionMatch`, and the query integers. Never a 500 from the embedded server.

Every check runs against the embedded server and a real kube-apiserver (`server` in conftest).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client

from .helpers import configmaps_path, ensure_crd, eventually, unique, widget_crd
from .raw_http import send

TOO_OLD = re.compile(r"too old resource version: 1 \((\d+)\)")


def _events(answer) -> list[dict]:
    assert answer.status == 200, answer.body
    text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _current(api_client, path: str) -> int:
    return int(send(api_client, "GET", path).body["metadata"]["resourceVersion"])


@pytest.fixture
def fresh_kind(api_client):
    """A custom resource type created now: its history starts with its CRD."""
    group = f"{unique('h')}.history.test"
    body = widget_crd("samples", "Sample", group=group)
    created = ensure_crd(api_client, body)

    def served() -> None:
        # A real server's cache for the new type answers 429 while it initialises.
        assert send(api_client, "GET", f"/apis/{group}/v1/samples?resourceVersion=0").status == 200

    eventually(served)
    yield group, int(created["metadata"]["resourceVersion"])
    crds = client.ApiextensionsV1Api(api_client)
    crds.delete_custom_resource_definition(body["metadata"]["name"])


def test_a_watch_from_before_a_custom_resource_existed_is_410(api_client, namespace, fresh_kind):
    """A watch of a custom resource from a resourceVersion older than its CRD is one ERROR event
    (410 Expired, `too old resource version`) in a 200 stream"""
    group, established = fresh_kind
    path = f"/apis/{group}/v1/namespaces/{namespace}/samples?watch=true&resourceVersion=1"
    events = _events(send(api_client, "GET", path + "&timeoutSeconds=5"))
    assert len(events) == 1, events
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert {k: status[k] for k in ("kind", "status", "reason", "code")} == {
        "kind": "Status",
        "status": "Failure",
        "reason": "Expired",
        "code": 410,
    }
    start = TOO_OLD.fullmatch(status["message"])
    assert start is not None, status["message"]
    assert int(start.group(1)) >= established - 1
    # From where its history starts, the same watch is served.
    later = path.replace("resourceVersion=1", f"resourceVersion={start.group(1)}")
    assert all(
        e["type"] != "ERROR" for e in _events(send(api_client, "GET", later + "&timeoutSeconds=1"))
    )


def test_the_official_client_sees_410_expired(api_client, namespace, fresh_kind):
    """The official client's watch raises ApiException 410 for that stream"""
    from kubernetes import watch

    group, _ = fresh_kind
    custom = client.CustomObjectsApi(api_client)
    stream = watch.Watch()
    with pytest.raises(client.ApiException) as raised:
        for _ in stream.stream(
            custom.list_namespaced_custom_object,
            group,
            "v1",
            namespace,
            "samples",
            resource_version="1",
            timeout_seconds=5,
        ):
            pass
    assert raised.value.status == 410


@pytest.mark.parametrize("where", ["configmaps", "custom"])
def test_a_watch_from_the_future_waits_in_silence(api_client, namespace, fresh_kind, where):
    """A watch from a resourceVersion the server has not reached yet sends nothing (no error)
    until it times out"""
    group, _ = fresh_kind
    path = (
        configmaps_path(namespace)
        if where == "configmaps"
        else f"/apis/{group}/v1/namespaces/{namespace}/samples"
    )
    future = _current(api_client, path) + 1_000_000
    answer = send(api_client, "GET", f"{path}?watch=true&resourceVersion={future}&timeoutSeconds=1")
    assert _events(answer) == []


def test_a_list_from_the_future_is_504(api_client, namespace):
    """A list at a resourceVersion the server has not reached is 504 Timeout, retry after 1 s"""
    path = configmaps_path(namespace)
    future = _current(api_client, path) + 1_000_000
    answer = send(api_client, "GET", f"{path}?resourceVersion={future}")
    assert (answer.status, answer.reason) == (504, "Timeout")
    assert re.fullmatch(
        rf"Timeout: Too large resource version: {future}, current: \d+", answer.message
    )
    assert answer.body["details"] == {
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": 1,
    }


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_an_unparsable_resource_version(server, api_client, namespace, value):
    """An unparsable resourceVersion is refused with the parser's words: 400 on a list; on a
    watch kube-apiserver answers 500, the embedded server 400 (it answers no 500 to input)"""
    path = configmaps_path(namespace)
    detail = (
        f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing "{value}": '
        "invalid syntax"
    )
    listed = send(api_client, "GET", f"{path}?resourceVersion={value}")
    assert (listed.status, listed.reason, listed.message) == (
        400,
        "BadRequest",
        f"invalid resource version: {detail}",
    )
    watched = send(api_client, "GET", f"{path}?watch=true&resourceVersion={value}")
    assert (watched.status, watched.message) == (400 if server.embedded else 500, detail)


@pytest.mark.parametrize(
    ("query", "cause"),
    [
        (
            "resourceVersionMatch=Exact",
            {
                "reason": "FieldValueForbidden",
                "message": "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                "is provided",
                "field": "resourceVersionMatch",
            },
        ),
        (
            "resourceVersion=0&resourceVersionMatch=Exact",
            {
                "reason": "FieldValueForbidden",
                "message": 'Forbidden: resourceVersionMatch "exact" is forbidden for '
                'resourceVersion "0"',
                "field": "resourceVersionMatch",
            },
        ),
        (
            "resourceVersion=1&resourceVersionMatch=Bogus",
            {
                "reason": "FieldValueNotSupported",
                "message": 'Unsupported value: "Bogus": supported values: "Exact", '
                '"NotOlderThan", ""',
                "field": "resourceVersionMatch",
            },
        ),
    ],
)
def test_resource_version_match_is_checked(api_client, namespace, query, cause):
    """resourceVersionMatch needs a resourceVersion, Exact needs one other than 0, and only
    Exact and NotOlderThan exist (422 on ListOptions)"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?{query}")
    assert (answer.status, answer.reason) == (422, "Invalid")
    assert (
        answer.message
        == f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: {cause["message"]}'
    )
    assert answer.body["details"] == {
        "group": "meta.k8s.io",
        "kind": "ListOptions",
        "causes": [cause],
    }


def test_an_exact_list_reads_the_past(core, api_client, namespace):
    """A list with resourceVersionMatch=Exact shows the objects as they were at that version;
    NotOlderThan shows the latest"""
    label = unique("exact")
    first = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": unique("a"), "labels": {"exact": label}}}
    )
    between = first.metadata.resource_version
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": unique("b"), "labels": {"exact": label}}}
    )
    query = f"labelSelector=exact%3D{label}&resourceVersion={between}"
    exact = send(
        api_client, "GET", f"{configmaps_path(namespace)}?{query}&resourceVersionMatch=Exact"
    )
    assert exact.status == 200, exact.body
    assert exact.body["metadata"]["resourceVersion"] == between
    assert [item["metadata"]["name"] for item in exact.body["items"]] == [first.metadata.name]
    newest = send(
        api_client, "GET", f"{configmaps_path(namespace)}?{query}&resourceVersionMatch=NotOlderThan"
    )
    assert len(newest.body["items"]) == 2


@pytest.mark.parametrize("query", ["limit=abc", "watch=true&timeoutSeconds=abc", "limit=1.5"])
def test_query_integers_are_go_integers(api_client, namespace, query):
    """limit and timeoutSeconds are parsed as Go integers: anything else is 400"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?{query}")
    value = query.rpartition("=")[2]
    assert (answer.status, answer.reason, answer.message) == (
        400,
        "BadRequest",
        f'strconv.ParseInt: parsing "{value}": invalid syntax',
    )


def test_a_negative_limit_lists_everything(core, api_client, namespace):
    """limit=-1 is no limit"""
    label = unique("neg")
    for _ in range(2):
        core.create_namespaced_config_map(
            namespace, {"metadata": {"generateName": "neg-", "labels": {"neg": label}}}
        )
    answer = send(
        api_client, "GET", f"{configmaps_path(namespace)}?limit=-1&labelSelector=neg%3D{label}"
    )
    assert answer.status == 200
    assert len(answer.body["items"]) == 2
    assert "continue" not in answer.body["metadata"]


def test_a_continue_token_that_is_not_one(api_client, namespace):
    """A continue token that does not decode is 400 with the decoder's words"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?limit=1&continue=garbage")
    assert (answer.status, answer.message) == (
        400,
        "invalid continue token: continue key is not valid: invalid character '\\u0081' looking "
        "for beginning of value",
    )


_query_values = st.text(alphabet="abcXYZ-_=.%0123", max_size=6) | st.integers(-5, 3).map(str)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["resourceVersion", "resourceVersionMatch", "limit", "continue", "timeoutSeconds"]
        ),
        _query_values | st.sampled_from(["Exact", "NotOlderThan", "0", ""]),
        max_size=4,
    )
)
def test_arbitrary_list_queries_are_never_a_server_error(api_client, namespace, params):
    """Whatever a client puts in a list's query, the answer is the list or a client error"""
    from urllib.parse import urlencode

    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?{urlencode(params)}")
    assert answer.status in (200, 400, 410, 422), (params, answer.body)
