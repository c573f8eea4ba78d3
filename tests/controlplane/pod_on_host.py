"""A pod's container started on the host the way the kubelet would start it, for the pods kwok
only pretends to run.

Everything comes from the pod as the real API server stored it: the container's command, its
environment with the downward-API fields resolved against the pod, and the service-account
volume the ServiceAccount admission plugin added (a TokenRequest token bound to the pod, the
`kube-root-ca.crt` ConfigMap's CA, the namespace), written into a directory instead of
/var/run/secrets/kubernetes.io/serviceaccount. Two things stand in for the node: each other
volume is a fresh host directory (paths in the environment follow it), and
KUBERNETES_SERVICE_HOST/PORT name the API server's own address, since nothing routes the
`kubernetes` Service's cluster IP from the host (no kube-proxy).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# What the harness reads instead of SERVICE_ACCOUNT_MOUNT (harness/config.py).
SERVICE_ACCOUNT_DIR_ENV = "HARNESS_SERVICE_ACCOUNT_DIR"
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


class Kubectl:
    """kubectl with one kubeconfig; JSON answers parsed."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout if check else result.stdout + result.stderr

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 120.0) -> Any:
    """The first truthy answer of `probe`; fails naming `what` if none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def field_value(pod: dict[str, Any], path: str) -> str:
    """A downward-API `fieldRef` of the pod, as the kubelet resolves it."""
    subscript = _SUBSCRIPT.match(path)
    if subscript:
        return str((pod["metadata"].get(subscript[1]) or {}).get(subscript[2], ""))
    simple = {
        "metadata.name": pod["metadata"]["name"],
        "metadata.namespace": pod["metadata"]["namespace"],
        "metadata.uid": pod["metadata"]["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": pod.get("status", {}).get("podIP", ""),
        "status.hostIP": pod.get("status", {}).get("hostIP", ""),
    }
    if path not in simple:
        raise AssertionError(f"fieldRef {path!r} is not resolved here")
    return str(simple[path])


def container_env(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        source = item.get("valueFrom")
        if source is None:
            env[item["name"]] = item.get("value", "")
        elif "fieldRef" in source:
            env[item["name"]] = field_value(pod, source["fieldRef"]["fieldPath"])
        else:
            raise AssertionError(f"env {item['name']}: {sorted(source)} is not resolved here")
    return env


def project_service_account(kubectl: Kubectl, pod: dict[str, Any], directory: Path) -> Path:
    """Write the projected volume mounted at SERVICE_ACCOUNT_MOUNT into `directory`."""
    spec = pod["spec"]
    (container,) = spec["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == SERVICE_ACCOUNT_MOUNT]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    directory.mkdir(parents=True, exist_ok=True)
    for source in volume["projected"]["sources"]:
        if "serviceAccountToken" in source:
            token = source["serviceAccountToken"]
            args = [
                *("create", "token", spec["serviceAccountName"], "-n", namespace),
                *("--bound-object-kind", "Pod", "--bound-object-name", name),
                *("--bound-object-uid", pod["metadata"]["uid"]),
                f"--duration={token.get('expirationSeconds', 3600)}s",
            ]
            if token.get("audience"):
                args.append(f"--audience={token['audience']}")
            (directory / token["path"]).write_text(kubectl(*args).strip())
        elif "configMap" in source:
            config_map = kubectl.json(
                "get", "configmap", source["configMap"]["name"], "-n", namespace
            )
            for item in source["configMap"]["items"]:
                (directory / item["path"]).write_text(config_map["data"][item["key"]])
        elif "downwardAPI" in source:
            for item in source["downwardAPI"]["items"]:
                (directory / item["path"]).write_text(
                    field_value(pod, item["fieldRef"]["fieldPath"])
                )
        else:
            raise AssertionError(f"projected source {sorted(source)} is not written here")
    return directory


def host_environment(
    kubectl: Kubectl, pod: dict[str, Any], api_url: str, root: Path
) -> tuple[list[str], dict[str, str]]:
    """The container's command and environment on the host, its volumes under `root`."""
    (container,) = pod["spec"]["containers"]
    env = container_env(pod, container)
    hosts: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or []:
        if mount["mountPath"] != SERVICE_ACCOUNT_MOUNT:
            hosts[mount["mountPath"]] = root / "volumes" / mount["name"]
            hosts[mount["mountPath"]].mkdir(parents=True, exist_ok=True)
    for name, value in env.items():
        inside = [path for path in hosts if value == path or value.startswith(path + "/")]
        if inside:
            path = max(inside, key=len)
            env[name] = str(hosts[path]) + value[len(path) :]
    server = urlsplit(api_url)
    env |= {
        "KUBERNETES_SERVICE_HOST": server.hostname or "",
        "KUBERNETES_SERVICE_PORT": str(server.port or 443),
        SERVICE_ACCOUNT_DIR_ENV: str(project_service_account(kubectl, pod, root / "sa")),
    }
    command = [*container.get("command", []), *container.get("args", [])]
    if command[:1] == ["python"]:
        command[0] = sys.executable
    return command, env


def base_environment() -> dict[str, str]:
    """What a container has before its own env: a PATH, and nothing of this process's harness
    or Kubernetes settings."""
    keep = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}
