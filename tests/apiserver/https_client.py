"""What a client outside the official library sees of a server under test: raw HTTPS requests
(status, media type, exact body) with any token or none, kubectl with any token, and the
identities a test needs (ServiceAccount tokens through TokenRequest, on either server)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from harness.contract.wire.gen.kube.v1 import kube_objects_pb2 as pb

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
TIMEOUT = 30
# The admin identity of the kubeconfig, unless a request names another token (None: anonymous).
ADMIN = object()


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def status_object(self) -> dict[str, Any]:
        """A `kind: Status` body, in JSON or protobuf, as a dict of its set fields."""
        if self.content_type != PROTOBUF:
            return dict(self.json())
        return protobuf_status(self.body)


@dataclass(frozen=True)
class Endpoint:
    """One server's address, CA and administrator token, from its kubeconfig."""

    host: str
    port: int
    ca_pem: str
    token: str

    @classmethod
    def of(cls, kubeconfig: Path) -> Endpoint:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        url = urllib.parse.urlsplit(cluster["server"])
        assert url.scheme == "https", f"{kubeconfig} points at {url.geturl()}"
        assert url.hostname is not None and url.port is not None
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        return cls(url.hostname, url.port, ca, config["users"][0]["user"]["token"])

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem)

    def connection(self, context: ssl.SSLContext | None = None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=context or self.context(), timeout=TIMEOUT
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        token: Any = ADMIN,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        authorization: str | None = None,
    ) -> Answer:
        """One HTTP/1.1 request on a fresh connection."""
        sent = dict(headers or {})
        if authorization is not None:
            sent["Authorization"] = authorization
        elif token is not None:
            sent["Authorization"] = f"Bearer {self.token if token is ADMIN else token}"
        connection = self.connection()
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content_type = (response.getheader("Content-Type") or "").partition(";")[0]
            return Answer(response.status, content_type, response.read())
        finally:
            connection.close()

    def kubeconfig(self, path: Path, token: str | None) -> Path:
        """A kubeconfig for this server with `token` (None: no credentials)."""
        user = {"token": token} if token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "under-test",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(
                            self.ca_pem.encode()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": "someone", "user": user}],
            "contexts": [
                {"name": "under-test", "context": {"cluster": "under-test", "user": "someone"}}
            ],
            "current-context": "under-test",
        }
        path.write_text(json.dumps(config))
        return path


def kubectl(
    kubeconfig: Path, *args: str, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl with its own discovery cache, so that no other run's answers are reused."""
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    cache_dir = cache or kubeconfig.with_suffix(".kubectl-cache")
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def service_account_token(api_client: client.ApiClient, namespace: str, name: str) -> str:
    """A ServiceAccount NAMESPACE/NAME and a token for it, minted through TokenRequest."""
    core = client.CoreV1Api(api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    answer = core.create_namespaced_service_account_token(name, namespace, request)
    return str(answer.status.token)


def envelope(api_version: str, kind: str, message: bytes) -> bytes:
    """A protobuf request body: the magic, then runtime.Unknown around the typed message."""
    unknown = pb.Unknown(typeMeta=pb.TypeMeta(apiVersion=api_version, kind=kind), raw=message)
    return MAGIC + unknown.SerializeToString()


def protobuf_status(body: bytes) -> dict[str, Any]:
    assert body.startswith(MAGIC), body[:40]
    unknown = pb.Unknown.FromString(body[len(MAGIC) :])
    assert (unknown.typeMeta.apiVersion, unknown.typeMeta.kind) == ("v1", "Status")
    status = pb.Status.FromString(unknown.raw)
    found: dict[str, Any] = {
        "status": status.status,
        "message": status.message,
        "reason": status.reason,
        "code": status.code,
    }
    if status.HasField("details"):
        details = {name: getattr(status.details, name) for name in ("name", "group", "kind")}
        found["details"] = {key: value for key, value in details.items() if value}
    return found
