"""Generated garbage at the embedded API server's request decoding: selectors, list and watch
query values, paths, content types, body sizes and nesting. Never a 500, always a status
kube-apiserver gives for the same kind of request (measured against v1.37.2), and the server
keeps serving. One server for the module."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import config as kube_config

from harness.reference.apiserver.testing import start_apiserver
from tests.apiserver.raw_http import send

from .budget import TEXT, budget

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
LIMIT = 3 * 1024 * 1024
query_text = st.text(TEXT, max_size=30)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = start_apiserver(tmp_path_factory.mktemp("apiserver"))
    client = kube_config.new_client_from_config(str(server.kubeconfig))
    yield client
    assert send(client, "GET", "/healthz").status == 200, "the server stopped serving"
    server.stop()


def get(api, path: str, **query: str):
    suffix = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    return send(api, "GET", f"{path}?{suffix}" if suffix else path)


@budget(150)
@given(selector=st.one_of(query_text, st.text("abc=!,() inotexs-_./", max_size=20)))
def test_any_label_selector_is_listed_or_400(api, selector):
    assert get(api, CONFIGMAPS, labelSelector=selector).status in (200, 400)


@budget(150)
@given(selector=st.one_of(query_text, st.text("metadata.nam=!,spc", max_size=20)))
def test_any_field_selector_is_listed_or_400(api, selector):
    assert get(api, CONFIGMAPS, fieldSelector=selector).status in (200, 400)


# A resourceVersion the store has not reached waits 3 s before its 504: those are left to the
# fidelity checks, so generated ones are never a whole number above 1.
resource_version = st.one_of(query_text, st.sampled_from(["0", "1", "-1", "²", "٣", "1e3"])).filter(
    lambda text: not (text.isascii() and text.isdigit() and int(text) > 1)
)


@budget(200)
@given(
    resource_version=resource_version,
    limit=st.one_of(query_text, st.integers(-5, 10**20).map(str)),
    token=st.one_of(query_text, st.binary(max_size=40).map(lambda b: b.hex())),
    match=st.sampled_from(["", "Exact", "NotOlderThan", "bogus"]),
)
def test_any_list_query_is_answered_never_500(api, resource_version, limit, token, match):
    query = {"resourceVersion": resource_version, "limit": limit, "continue": token}
    if match:
        query["resourceVersionMatch"] = match
    answer = get(api, CONFIGMAPS, **query)
    assert answer.status in (200, 400, 410, 422), (answer.status, answer.body)


@budget(20)
@given(resource_version=resource_version, timeout=st.just("1"))
def test_any_watch_resource_version_is_answered_never_500(api, resource_version, timeout):
    answer = get(
        api, CONFIGMAPS, watch="1", resourceVersion=resource_version, timeoutSeconds=timeout
    )
    assert answer.status in (200, 400, 410), (answer.status, answer.body)


segment = st.one_of(
    st.text(TEXT, min_size=1, max_size=12).map(lambda s: quote(s, safe="")),
    st.sampled_from(["..", ".", "%00", "%ff", "", "status", "scale", "log", "default", "v1"]),
)
prefix = st.sampled_from(
    ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/api/v1/namespaces", CONFIGMAPS, ""]
)


@budget(300)
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=st.builds(lambda p, s: p + "/" + "/".join(s), prefix, st.lists(segment, max_size=4)),
)
def test_any_path_and_method_is_answered_never_500(api, method, path):
    body = "{}" if method in ("PUT", "POST", "PATCH") else None
    answer = send(api, method, path, body)
    assert answer.status < 500, (answer.status, answer.body)


content_type = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/yaml",
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
            "application/vnd.kubernetes.protobuf",
            "text/plain",
            "application/json; charset=latin1",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@budget(150)
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH"]),
    media=content_type,
    body=st.one_of(
        st.binary(max_size=300),
        st.integers(0, 12000).map(
            lambda depth: (
                json.dumps({"data": {"k": "x"}, "d": 0})[:-1] + f', "n": {nested(depth)}}}'
            )
        ),
        st.integers(LIMIT - 300, LIMIT + 300).map(
            lambda size: '{"metadata":{"name":"big"},"data":{"k":"' + "x" * size + '"}}'
        ),
    ),
)
def test_any_body_and_content_type_is_answered_never_500(api, method, media, body):
    path = CONFIGMAPS if method == "POST" else f"{CONFIGMAPS}/big"
    answer = send(api, method, path, body, media)
    assert answer.status in (200, 201, 400, 404, 405, 409, 413, 415, 422), (
        answer.status,
        str(answer.body)[:300],
    )
