"""Start and stop a real control plane, envtest-style, from the cached binaries.

etcd, kube-apiserver (TLS only, service-account tokens and a static token file, RBAC and Node
authorization, the default admission plugins, an audit log), kube-controller-manager (garbage
collector, namespace lifecycle, service-account and token controllers, and the rest of its
defaults), kube-scheduler and kwok with simulated nodes. Everything binds loopback on free
ports; each process is a child that dies with this one. `start()` returns once the API server
is ready and every node is Ready, and writes an admin kubeconfig.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.reference.controlplane.binaries import Binaries
from harness.reference.tls import write_server_certificate

READY_TIMEOUT = 60.0
ADMIN_USER = "harness-admin"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.64.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
# A kubelet's default node lease duration.
NODE_LEASE_SECONDS = 40
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "rules": [{"level": "Metadata"}],
}
# Sets PR_SET_PDEATHSIG, which survives exec, then becomes the binary: a Go binary cannot be
# told to die with its parent, and Python code between fork and exec in this (threaded)
# process is what the trampoline avoids.
_TRAMPOLINE = """
import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


class ControlPlaneError(RuntimeError):
    """A control-plane process failed to start or died; the message names it and quotes its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    name: str
    command: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(os.getpid()), *self.command],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def failure(self) -> ControlPlaneError:
        code = self.popen.poll() if self.popen else None
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-12:])
        state = f"exited with code {code}" if code is not None else "did not become ready"
        return ControlPlaneError(f"{self.name} {state}; last lines of {self.log_path}:\n{tail}")

    def stop(self, grace: float = 10.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self._log is not None:
            self._log.close()


@dataclass(frozen=True)
class ControlPlaneOptions:
    """How to build one real control plane."""

    state_dir: Path
    """Where certificates, tokens, etcd's data, kubeconfigs, the audit log and `logs/` go."""

    nodes: int = 1
    """How many kwok-simulated nodes to register. Default 1."""

    host: str = "127.0.0.1"
    """The address every process binds and the kubeconfig points at. Default loopback."""

    kwok_config: tuple[dict[str, Any], ...] = ()
    """kwok configuration documents besides its stages (`ClusterPortForward`, `ClusterLogs`, …),
    read when kwok starts. Default none."""


class RealControlPlane:
    def __init__(self, binaries: Binaries, options: ControlPlaneOptions) -> None:
        self.binaries = binaries
        self.options = options
        self.state = options.state_dir.resolve()
        self.processes: list[Process] = []
        self.url = ""
        self.admin_token = secrets.token_hex(24)
        self.tokens: dict[str, tuple[str, list[str]]] = {}  # token -> (user, groups)

    @property
    def kubeconfig(self) -> Path:
        return self.state / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.state / "pki" / "ca.crt"

    def add_token(
        self, user: str, groups: list[str] | None = None, token: str | None = None
    ) -> str:
        """A static bearer token for `user` (call before `start()`); returns it."""
        token = token or secrets.token_hex(24)
        self.tokens[token] = (user, list(groups or []))
        return token

    def start(self) -> str:
        state, host = self.state, self.options.host
        (state / "logs").mkdir(parents=True, exist_ok=True)
        ca, cert, key = write_server_certificate(
            state / "pki", [host, "localhost", "10.0.0.1", "kubernetes.default.svc"]
        )
        sa_key = state / "pki" / "service-account.key"
        sa_pub = state / "pki" / "service-account.pub"
        _write_service_account_keys(sa_key, sa_pub)
        token_file = state / "tokens.csv"
        rows = [(self.admin_token, ADMIN_USER, ["system:masters"])]
        rows += [(token, user, groups) for token, (user, groups) in self.tokens.items()]
        _write_private(
            token_file,
            "".join(
                f'{token},{user},{user},"{",".join(groups)}"\n' for token, user, groups in rows
            ),
        )
        audit_policy = state / "audit-policy.yaml"
        audit_policy.write_text(yaml.safe_dump(AUDIT_POLICY))

        etcd_port, etcd_peer, api_port = free_port(host), free_port(host), free_port(host)
        etcd_url = f"http://{host}:{etcd_port}"
        etcd = self._process(
            "etcd",
            [
                "--data-dir", str(state / "etcd"),
                "--listen-client-urls", etcd_url,
                "--advertise-client-urls", etcd_url,
                "--listen-peer-urls", f"http://{host}:{etcd_peer}",
                "--initial-advertise-peer-urls", f"http://{host}:{etcd_peer}",
                "--initial-cluster", f"default=http://{host}:{etcd_peer}",
                "--unsafe-no-fsync",
            ],
        )  # fmt: skip
        self._wait(etcd, lambda: _get(f"{etcd_url}/health") is not None)
        self.url = f"https://{host}:{api_port}"
        apiserver = self._process(
            "kube-apiserver",
            [
                "--etcd-servers", etcd_url,
                "--bind-address", host,
                "--advertise-address", host,
                "--secure-port", str(api_port),
                "--endpoint-reconciler-type", "none",
                "--tls-cert-file", str(cert),
                "--tls-private-key-file", str(key),
                "--client-ca-file", str(ca),
                "--token-auth-file", str(token_file),
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", str(sa_pub),
                "--service-account-signing-key-file", str(sa_key),
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--authorization-mode", "Node,RBAC",
                "--allow-privileged",
                "--audit-policy-file", str(audit_policy),
                "--audit-log-path", str(state / "logs" / "audit.log"),
            ],
        )  # fmt: skip
        context = ssl.create_default_context(cafile=str(ca))
        self._wait(
            apiserver,
            lambda: _get(f"{self.url}/readyz", self.admin_token, context) == b"ok",
        )
        self._write_kubeconfigs(ca)
        admin = str(self.kubeconfig)
        kcm_port, scheduler_port = free_port(host), free_port(host)
        controllers = self._process(
            "kube-controller-manager",
            [
                "--kubeconfig", admin,
                "--authentication-kubeconfig", admin,
                "--authorization-kubeconfig", admin,
                "--bind-address", host,
                "--secure-port", str(kcm_port),
                "--service-account-private-key-file", str(sa_key),
                "--root-ca-file", str(ca),
                "--use-service-account-credentials",
                "--leader-elect=false",
                "--controllers", "*",
            ],
        )  # fmt: skip
        scheduler = self._process(
            "kube-scheduler",
            [
                "--kubeconfig", admin,
                "--authentication-kubeconfig", admin,
                "--authorization-kubeconfig", admin,
                "--bind-address", host,
                "--secure-port", str(scheduler_port),
                "--leader-elect=false",
            ],
        )  # fmt: skip
        kwok_config = ["--config", str(self.binaries.kwok_stages)]
        if self.options.kwok_config:
            extra = state / "kwok-config.yaml"
            extra.write_text(yaml.safe_dump_all(list(self.options.kwok_config)))
            kwok_config += ["--config", str(extra)]
        kubelet_port = free_port(host)
        kwok = self._process(
            "kwok",
            [
                "--kubeconfig", admin,
                *kwok_config,
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector", f"{KWOK_NODE_ANNOTATION}=fake",
                "--cidr", POD_CIDR,
                "--node-ip", host,
                # Renew each node's Lease as a kubelet does: without it the node lifecycle
                # controller marks the node NotReady after its grace period, and with it every
                # pod (Deployments go unavailable).
                "--node-lease-duration-seconds", str(NODE_LEASE_SECONDS),
                # kwok's kubelet-like server, which each node names as its kubelet endpoint:
                # the API server's pods/log, portforward and exec reach it there.
                "--node-port", str(kubelet_port),
                "--server-address", f"{host}:{kubelet_port}",
            ],
        )  # fmt: skip
        nodes = [f"kwok-node-{index}" for index in range(self.options.nodes)]
        for name in nodes:
            self._api("POST", "/api/v1/nodes", _node(name), context)
        self._wait(kwok, lambda: all(self._node_ready(name, context) for name in nodes))
        # Serving certificates of their own (not ours): their health is all that is asked.
        unverified = ssl._create_unverified_context()
        self._wait(
            scheduler,
            lambda: _get(f"https://{host}:{scheduler_port}/healthz", None, unverified) == b"ok",
        )
        self._wait(
            controllers,
            lambda: _get(f"https://{host}:{kcm_port}/healthz", None, unverified) == b"ok",
        )
        # The controllers work: the service-account controller gave `default` its account.
        self._wait(
            controllers,
            lambda: (
                _get(
                    f"{self.url}/api/v1/namespaces/default/serviceaccounts/default",
                    self.admin_token,
                    context,
                )
                is not None
            ),
        )
        (state / "control-plane.json").write_text(
            json.dumps(
                {
                    "url": self.url,
                    "kubeconfig": admin,
                    "nodes": nodes,
                    "versions": self.binaries.manifest,
                    "pids": {p.name: p.pid for p in self.processes},
                },
                indent=2,
            )
        )
        return self.url

    def _process(self, name: str, args: list[str]) -> Process:
        process = Process(
            name, [str(self.binaries.path(name)), *args], self.state / "logs" / f"{name}.log"
        )
        self.processes.append(process)
        process.start()
        return process

    def _wait(self, process: Process, ready: Any, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise process.failure()
            with contextlib.suppress(Exception):
                if ready():
                    return
            dead = next((p for p in self.processes if not p.alive()), None)
            if dead is not None:
                raise dead.failure()
            time.sleep(0.1)
        raise process.failure()

    def _api(self, method: str, path: str, body: dict[str, Any], context: ssl.SSLContext) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.admin_token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.loads(response.read())

    def _node_ready(self, name: str, context: ssl.SSLContext) -> bool:
        raw = _get(f"{self.url}/api/v1/nodes/{name}", self.admin_token, context)
        conditions = (json.loads(raw or b"{}").get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _write_kubeconfigs(self, ca: Path) -> None:
        authority = base64.b64encode(ca.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "real",
                    "cluster": {"server": self.url, "certificate-authority-data": authority},
                }
            ],
            "users": [{"name": ADMIN_USER, "user": {"token": self.admin_token}}],
            "contexts": [{"name": "real", "context": {"cluster": "real", "user": ADMIN_USER}}],
            "current-context": "real",
        }
        _write_private(self.kubeconfig, yaml.safe_dump(config))

    def dead_process(self) -> Process | None:
        return next((p for p in self.processes if not p.alive()), None)

    def stop(self) -> None:
        """Clients of the API server first, then the API server, then etcd."""
        for process in reversed(self.processes):
            process.stop()


def _get(url: str, token: str | None = None, context: ssl.SSLContext | None = None) -> bytes | None:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=2) as response:
            return bytes(response.read())
    except OSError:
        return None


def _node(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake"},
            "labels": {"kubernetes.io/hostname": name, "type": "kwok"},
        },
    }


def _write_service_account_keys(private: Path, public: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(
        private,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.chmod(0o600)
    os.replace(partial, path)
