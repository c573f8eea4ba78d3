"""Authentication as kube-apiserver 1.37 does it, on the embedded server and a real one: HTTPS
only, with the CA the kubeconfig carries; a bearer token nobody issued is 401 on every path; no
token is `system:anonymous`, which may read /version and the health endpoints and nothing
else; kubectl sees the same."""

from __future__ import annotations

import socket
import ssl

import pytest
from kubernetes import client, config

from .helpers import unique
from .https_client import Endpoint, kubectl, last_line, service_account_token

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}
ANONYMOUS = "system:anonymous"
PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/livez", "/readyz")


def _forbidden(message: str, **details: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def test_https_with_the_ca_of_the_kubeconfig(server):
    """HTTPS only, trusted through the kubeconfig's certificate-authority-data alone"""
    endpoint = Endpoint.of(server.kubeconfig)
    assert endpoint.request("GET", "/version").status == 200
    untrusted = ssl.create_default_context()  # the system's CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        endpoint.connection(untrusted).request("GET", "/version")


@pytest.mark.gap(
    "plain HTTP on the HTTPS port fails the TLS handshake (the connection closes); "
    "kube-apiserver answers 400 `Client sent an HTTP request to an HTTPS server.`"
)
def test_plain_http_on_the_https_port_is_told_so(server):
    endpoint = Endpoint.of(server.kubeconfig)
    with socket.create_connection((endpoint.host, endpoint.port), timeout=10) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.0 400 Bad Request"), answer
    assert answer.endswith(b"Client sent an HTTP request to an HTTPS server.\n")


@pytest.mark.parametrize("path", ["/version", "/healthz", "/api", "/api/v1/namespaces"])
def test_a_token_nobody_issued_is_401_on_every_path(server, path):
    """a bearer token nobody issued: 401 Unauthorized, whatever the path"""
    answer = Endpoint.of(server.kubeconfig).request("GET", path, token="not-a-token")
    assert (answer.status, answer.json()) == (401, UNAUTHORIZED)


def test_kubectl_with_a_token_nobody_issued_must_log_in(server, tmp_path):
    stranger = Endpoint.of(server.kubeconfig).kubeconfig(tmp_path / "stranger", "not-a-token")
    result = kubectl(stranger, "get", "namespaces")
    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "error: You must be logged in to the server "
        "(the server has asked for the client to provide credentials)"
    )


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_anonymous_may_read_the_public_paths(server, path):
    """no token: /version and the health endpoints are served (system:public-info-viewer)"""
    assert Endpoint.of(server.kubeconfig).request("GET", path, token=None).status == 200


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api", _forbidden('forbidden: User "system:anonymous" cannot get path "/api"')),
        (
            "GET",
            "/healthz/etcd",
            _forbidden('forbidden: User "system:anonymous" cannot get path "/healthz/etcd"'),
        ),
        (
            "POST",
            "/version",
            _forbidden('forbidden: User "system:anonymous" cannot post path "/version"'),
        ),
        (
            "GET",
            "/api/v1/namespaces",
            _forbidden(
                'namespaces is forbidden: User "system:anonymous" cannot list resource '
                '"namespaces" in API group "" at the cluster scope',
                kind="namespaces",
            ),
        ),
        (
            "GET",
            "/api/v1/namespaces/default",
            _forbidden(
                'namespaces "default" is forbidden: User "system:anonymous" cannot get resource '
                '"namespaces" in API group "" in the namespace "default"',
                name="default",
                kind="namespaces",
            ),
        ),
        (
            "GET",
            "/apis/nothing.example.com/v1/things",
            _forbidden(
                'things.nothing.example.com is forbidden: User "system:anonymous" cannot list '
                'resource "things" in API group "nothing.example.com" at the cluster scope',
                group="nothing.example.com",
                kind="things",
            ),
        ),
    ],
)
def test_anonymous_is_refused_everything_else(server, method, path, expected):
    """no token: everything but the public paths is 403, even what does not exist"""
    answer = Endpoint.of(server.kubeconfig).request(method, path, token=None)
    assert (answer.status, answer.json()) == (403, expected)


@pytest.mark.parametrize(
    ("authorization", "who"),
    [
        ("Bearer {token}", "admin"),
        ("bearer {token}", "admin"),
        ("Bearer {token} trailing words", "admin"),
        ("Bearer  {token}", ANONYMOUS),
        ("Bearer", ANONYMOUS),
        ("Token {token}", ANONYMOUS),
        ("Basic dXNlcjpwYXNzd29yZA==", ANONYMOUS),
    ],
)
def test_how_the_authorization_header_is_read(server, authorization, who):
    """the scheme in any case, the token up to the next space; an empty token (also a second
    space before it) or another scheme is no credential at all"""
    endpoint = Endpoint.of(server.kubeconfig)
    header = authorization.format(token=endpoint.token)
    answer = endpoint.request("GET", "/api/v1/namespaces/default", authorization=header)
    if who == ANONYMOUS:
        assert (answer.status, answer.json()["message"].split(" cannot ")[0]) == (
            403,
            'namespaces "default" is forbidden: User "system:anonymous"',
        )
    else:
        assert answer.status == 200


def test_kubectl_auth_whoami_names_the_administrator(server):
    """`kubectl auth whoami` with the server's own kubeconfig: its administrator, uid, groups"""
    result = kubectl(server.kubeconfig, "auth", "whoami")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ATTRIBUTE   VALUE",
        "Username    harness-admin",
        "UID         harness-admin",
        "Groups      [system:masters system:authenticated]",
    ]


def test_a_service_account_token_is_the_account(server, tmp_path):
    """a token minted by TokenRequest authenticates as its ServiceAccount, in its groups"""
    api = config.new_client_from_config(str(server.kubeconfig))
    namespace = unique("authn")
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    try:
        token = service_account_token(api, namespace, "robot")
        endpoint = Endpoint.of(server.kubeconfig)
        answer = endpoint.request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            token=token,
            headers={"Content-Type": "application/json"},
            body=b'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
        )
        assert answer.status == 201
        user = answer.json()["status"]["userInfo"]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
        assert (user["username"], user["groups"]) == (
            f"system:serviceaccount:{namespace}:robot",
            [*groups, "system:authenticated"],
        )
    finally:
        client.CoreV1Api(api).delete_namespace(namespace)
