"""kubectl's protobuf, and media types in general, as kube-apiserver 1.37 answers them, on the
embedded server and a real one.

kubectl sends the built-in kinds of its imperative commands as protobuf (`kubectl create
namespace|configmap|secret|serviceaccount|token`, `kubectl auth whoami|can-i`); a custom
resource has no protobuf at all: its body makes a real server drop the connection (a recovered
panic), and a read that accepts only protobuf is 406, answered in protobuf.
"""

from __future__ import annotations

import http.client
import json

import pytest
import yaml

from harness.contract.wire.gen.kube.v1 import kube_objects_pb2 as pb

from .helpers import GROUP, VERSION, WIDGETS, unique, widget
from .https_client import PROTOBUF, Endpoint, envelope, kubectl, last_line, protobuf_status

WIDGET_PATH = f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{WIDGETS}"
OBJECT_TYPES = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
CUSTOM_ACCEPTS = f"only the following media types are accepted: {OBJECT_TYPES}"
NOT_ACCEPTABLE = f"406: Not Acceptable\n\nAvailable representations: {OBJECT_TYPES}"
WATCH_STREAMS = "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def test_kubectl_imperative_commands(server):
    """kubectl create namespace, serviceaccount, configmap, secret and token; auth can-i; get
    and delete: what kubectl sends in protobuf is understood"""
    kubeconfig = server.kubeconfig
    namespace = unique("kubectl")
    assert _ok(kubectl(kubeconfig, "create", "namespace", namespace)) == (
        f"namespace/{namespace} created\n"
    )
    try:
        scoped = ("-n", namespace)
        assert _ok(kubectl(kubeconfig, "create", "serviceaccount", "robot", *scoped)) == (
            "serviceaccount/robot created\n"
        )
        created = kubectl(
            kubeconfig,
            "create",
            "configmap",
            "settings",
            "--from-literal=colour=blue",
            "--from-literal=size=3",
            *scoped,
        )
        assert _ok(created) == "configmap/settings created\n"
        data = kubectl(kubeconfig, "get", "configmap", "settings", *scoped, "-o", "json")
        assert json.loads(_ok(data))["data"] == {"colour": "blue", "size": "3"}
        secret = kubectl(
            kubeconfig, "create", "secret", "generic", "key", "--from-literal=k=v", *scoped
        )
        assert _ok(secret) == "secret/key created\n"
        stored = kubectl(kubeconfig, "get", "secret", "key", *scoped, "-o", "jsonpath={.data}")
        assert json.loads(_ok(stored)) == {"k": "dg=="}
        token = _ok(kubectl(kubeconfig, "create", "token", "robot", "--duration=20m", *scoped))
        assert token.strip() and "\n" not in token.strip()
        assert _ok(kubectl(kubeconfig, "auth", "can-i", "create", "configmaps", *scoped)) == (
            "yes\n"
        )
        assert _ok(kubectl(kubeconfig, "auth", "can-i", "get", "/version")) == "yes\n"
        assert _ok(kubectl(kubeconfig, "delete", "configmap", "settings", *scoped)) == (
            'configmap "settings" deleted\n'
        )
        missing = kubectl(kubeconfig, "get", "configmap", "settings", *scoped)
        assert last_line(missing.stderr) == (
            'Error from server (NotFound): configmaps "settings" not found'
        )
    finally:
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


def test_kubectl_on_custom_resources(server, namespace, tmp_path):
    """kubectl create -f, get and delete of a custom resource (sent as JSON)"""
    manifest = tmp_path / "widget.json"
    manifest.write_text(json.dumps(widget("kubectl-made", size=2)))
    scoped = ("-n", namespace)
    assert _ok(kubectl(server.kubeconfig, "create", "-f", str(manifest), *scoped)) == (
        f"widget.{GROUP}/kubectl-made created\n"
    )
    got = kubectl(
        server.kubeconfig, "get", f"{WIDGETS}.{GROUP}", "kubectl-made", *scoped, "-o", "json"
    )
    assert json.loads(_ok(got))["spec"]["size"] == 2
    assert _ok(kubectl(server.kubeconfig, "delete", "-f", str(manifest), *scoped)) == (
        f'widget.{GROUP} "kubectl-made" deleted\n'
    )


def test_a_protobuf_namespace_is_decoded(server):
    """a Namespace sent in protobuf is stored as sent: name, labels, annotations"""
    endpoint = Endpoint.of(server.kubeconfig)
    name = unique("protobuf")
    message = pb.Namespace(
        metadata=pb.ObjectMeta(name=name, labels={"team": "a"}, annotations={"note": "x"})
    )
    body = envelope("v1", "Namespace", message.SerializeToString())
    answer = endpoint.request(
        "POST",
        "/api/v1/namespaces",
        headers={"Content-Type": PROTOBUF, "Accept": "application/json"},
        body=body,
    )
    try:
        assert answer.status == 201, answer.body
        stored = endpoint.request("GET", f"/api/v1/namespaces/{name}").json()
        assert stored["metadata"]["labels"]["team"] == "a"
        assert stored["metadata"]["annotations"] == {"note": "x"}
    finally:
        endpoint.request("DELETE", f"/api/v1/namespaces/{name}")


NOT_A_NAMESPACE = "the object provided is unrecognized (must be of type Namespace)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", f"{NOT_A_NAMESPACE}: empty data (<empty>)"),
        (
            b'{"metadata":{}}',
            f"{NOT_A_NAMESPACE}: provided data does not appear to be a protobuf message, "
            'expected prefix [107 56 115 0] ({"metadata":{}})',
        ),
        (b"k8s\x00", f"{NOT_A_NAMESPACE}: empty body (6b387300)"),
        (b"k8s\x00\xff\xff", f"{NOT_A_NAMESPACE}: unexpected EOF (6b387300ffff)"),
        (
            envelope("v1", "ConfigMap", b""),
            'ConfigMap in version "v1" cannot be handled as a Namespace: converting '
            "(v1.ConfigMap) to (core.Namespace): unknown conversion",
        ),
        (
            envelope("v2", "Namespace", b""),
            'Namespace in version "v2" cannot be handled as a Namespace: no kind "Namespace" is '
            'registered for version "v2" in scheme "pkg/runtime/scheme.go:111"',
        ),
        (
            envelope("v1", "Namespace", b"\xff\xff\xff"),
            'Namespace in version "v1" cannot be handled as a Namespace: unexpected EOF',
        ),
    ],
    ids=["empty", "json", "magic-only", "torn-envelope", "other-kind", "other-version", "torn"],
)
def test_a_protobuf_body_that_is_not_a_namespace_is_400(server, body, message):
    answer = Endpoint.of(server.kubeconfig).request(
        "POST", "/api/v1/namespaces", headers={"Content-Type": PROTOBUF}, body=body
    )
    assert (answer.status, answer.json()["reason"], answer.json()["message"]) == (
        400,
        "BadRequest",
        message,
    )


def test_a_protobuf_custom_resource_drops_the_connection(server, namespace):
    """a custom resource has no protobuf decoder: kube-apiserver 1.37 panics on the body and
    closes the connection without an answer; nothing is created"""
    endpoint = Endpoint.of(server.kubeconfig)
    path = WIDGET_PATH.format(namespace=namespace)
    body = envelope(f"{GROUP}/{VERSION}", "Widget", json.dumps(widget("pb")).encode())
    for method, target in (("POST", path), ("PUT", f"{path}/pb")):
        with pytest.raises(http.client.RemoteDisconnected):
            endpoint.request(method, target, headers={"Content-Type": PROTOBUF}, body=body)
    assert endpoint.request("GET", f"{path}/pb").status == 404


def test_a_protobuf_custom_resource_without_field_validation_is_400(server, namespace):
    answer = Endpoint.of(server.kubeconfig).request(
        "POST",
        WIDGET_PATH.format(namespace=namespace) + "?fieldValidation=Ignore",
        headers={"Content-Type": PROTOBUF},
        body=envelope(f"{GROUP}/{VERSION}", "Widget", b""),
    )
    assert (answer.status, answer.json()["message"]) == (
        400,
        "Widget in version \"v1\" cannot be handled as a Widget: Object 'Kind' is missing in "
        "'object has no kind field '",
    )


@pytest.mark.parametrize("read", ["get", "list", "watch"])
def test_a_custom_resource_read_in_protobuf_only_is_406_in_protobuf(server, namespace, read):
    """`Accept: application/vnd.kubernetes.protobuf` on a custom resource: 406, the Status
    encoded in protobuf"""
    endpoint = Endpoint.of(server.kubeconfig)
    path = WIDGET_PATH.format(namespace=namespace)
    path += {"get": "/anything", "list": "", "watch": "?watch=true&timeoutSeconds=1"}[read]
    answer = endpoint.request("GET", path, headers={"Accept": PROTOBUF})
    assert (answer.status, answer.content_type) == (406, PROTOBUF)
    assert protobuf_status(answer.body) == {
        "status": "Failure",
        "message": CUSTOM_ACCEPTS,
        "reason": "NotAcceptable",
        "code": 406,
    }


def test_a_custom_resource_read_in_protobuf_or_json_is_json(server, namespace):
    endpoint = Endpoint.of(server.kubeconfig)
    answer = endpoint.request(
        "GET",
        WIDGET_PATH.format(namespace=namespace),
        headers={"Accept": f"{PROTOBUF};q=1, application/json;q=0.5"},
    )
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.json()["kind"] == "WidgetList"


@pytest.mark.parametrize(
    ("resource", "accept", "expected"),
    [
        ("widgets", "text/plain", (406, CUSTOM_ACCEPTS, None)),
        ("widgets", "application/*", (200, None, None)),
        ("configmaps", "text/plain", (406, f"{NOT_ACCEPTABLE}, {WATCH_STREAMS}", {})),
        ("configmaps", "application/*", (406, f"{NOT_ACCEPTABLE}, {WATCH_STREAMS}", {})),
        ("configmaps/one", "text/plain", (406, NOT_ACCEPTABLE, {})),
        ("configmaps", "text/plain, application/json;q=0.1", (200, None, None)),
    ],
)
def test_what_accept_may_ask_for(server, namespace, resource, accept, expected):
    """a read whose Accept allows nothing the resource is served as is 406 (in JSON); a
    built-in's list names its watch streams too"""
    if resource == "widgets":
        path = WIDGET_PATH.format(namespace=namespace)
    else:
        path = f"/api/v1/namespaces/{namespace}/{resource}"
    answer = Endpoint.of(server.kubeconfig).request("GET", path, headers={"Accept": accept})
    status, message, details = expected
    assert answer.status == status, answer.body
    if message is not None:
        body = answer.json()
        assert (body["reason"], body["message"], body.get("details")) == (
            "NotAcceptable",
            message,
            details,
        )


def test_an_error_goes_out_in_protobuf_when_the_client_prefers_it(server, namespace):
    """kubectl's Accept (protobuf, then JSON): a Status error comes back in protobuf"""
    answer = Endpoint.of(server.kubeconfig).request(
        "GET",
        f"/api/v1/namespaces/{namespace}/configmaps/missing",
        headers={"Accept": f"{PROTOBUF},application/json"},
    )
    assert (answer.status, answer.content_type) == (404, PROTOBUF)
    assert protobuf_status(answer.body) == {
        "status": "Failure",
        "message": 'configmaps "missing" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "missing", "kind": "configmaps"},
    }


UNKNOWN_BODY = (
    "the body of the request was in an unknown format - accepted media types include: "
    + OBJECT_TYPES
)


@pytest.mark.parametrize(
    ("method", "resource", "content_type", "expected"),
    [
        ("POST", "configmaps", "text/plain", (415, UNKNOWN_BODY, None)),
        ("POST", "configmaps", "application/octet-stream", (415, UNKNOWN_BODY, None)),
        ("POST", "widgets", "text/plain", (415, UNKNOWN_BODY, None)),
        ("POST", "configmaps", None, (201, None, None)),
        ("POST", "configmaps", "application/json; charset=utf-8", (201, None, None)),
        ("POST", "configmaps", "application/yaml", (201, None, None)),
        ("POST", "widgets", "application/yaml", (201, None, None)),
        (
            "PATCH",
            "widgets",
            "text/plain",
            (
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
                None,
            ),
        ),
        (
            "PATCH",
            "widgets",
            "application/strategic-merge-patch+json",
            (
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
                None,
            ),
        ),
        ("PATCH", "configmaps", "text/plain", (415, "415: Unsupported Media Type", {})),
    ],
)
def test_what_a_body_may_be(server, namespace, method, resource, content_type, expected):
    """create bodies in JSON (also without a Content-Type) or YAML; PATCH in a patch type the
    resource takes; anything else is 415, naming what would do"""
    endpoint = Endpoint.of(server.kubeconfig)
    name = unique("media")
    if resource == "widgets":
        base = WIDGET_PATH.format(namespace=namespace)
        obj = widget(name)
    else:
        base = f"/api/v1/namespaces/{namespace}/configmaps"
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    if method == "PATCH":
        json_type = {"Content-Type": "application/json"}
        created = endpoint.request("POST", base, headers=json_type, body=json.dumps(obj).encode())
        assert created.status == 201, created.body
        base, body = f"{base}/{name}", b'{"metadata":{"labels":{"a":"b"}}}'
    elif content_type == "application/yaml":
        body = yaml.safe_dump(obj).encode()
    else:
        body = json.dumps(obj).encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = endpoint.request(method, base, headers=headers, body=body)
    status, message, details = expected
    assert answer.status == status, answer.body
    if message is not None:
        found = answer.json()
        assert (found["reason"], found["message"], found.get("details")) == (
            "UnsupportedMediaType",
            message,
            details,
        )
    else:
        assert answer.json()["metadata"]["name"] == name


@pytest.mark.gap(
    "a built-in read that accepts only protobuf is answered in JSON; kube-apiserver encodes "
    "the object in protobuf"
)
def test_a_built_in_read_in_protobuf_only_is_protobuf(server, namespace):
    endpoint = Endpoint.of(server.kubeconfig)
    answer = endpoint.request(
        "GET", f"/api/v1/namespaces/{namespace}", headers={"Accept": PROTOBUF}
    )
    assert (answer.status, answer.content_type) == (200, PROTOBUF)
    unknown = pb.Unknown.FromString(answer.body[4:])
    assert pb.Namespace.FromString(unknown.raw).metadata.name == namespace


@pytest.mark.gap(
    "protobuf bodies are decoded only for the kinds kubectl's imperative commands send "
    "(namespaces, configmaps, secrets, serviceaccounts, TokenRequest and the reviews); another "
    "built-in kind's is 415; kube-apiserver decodes every built-in kind"
)
def test_any_built_in_kind_may_be_sent_in_protobuf(server, namespace):
    """a coordination.k8s.io/v1 Lease, a kind kubectl never sends in protobuf"""
    lease = b"\x0a" + bytes([len(meta := pb.ObjectMeta(name="pb").SerializeToString())]) + meta
    answer = Endpoint.of(server.kubeconfig).request(
        "POST",
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        headers={"Content-Type": PROTOBUF, "Accept": "application/json"},
        body=envelope("coordination.k8s.io/v1", "Lease", lease),
    )
    assert answer.status == 201, answer.body
    assert answer.json()["metadata"]["name"] == "pb"


def test_kubectl_create_token_of_a_missing_account_is_404(server, namespace):
    result = kubectl(server.kubeconfig, "create", "token", "nobody", "-n", namespace)
    assert result.returncode == 1
    assert last_line(result.stderr) == (
        'error: failed to create token: serviceaccounts "nobody" not found'
    )
