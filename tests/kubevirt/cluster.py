"""Real processes on real sockets for integration tests: the embedded API server, the simulated
KubeVirt and the reference controller, plus watch-based recorders to wait on.

Every process is stopped by PID (`ComponentProcess.stop`); every wait has a deadline and is woken
by watch events, never by a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s

from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, Profile
from harness.reference.apiserver import testing
from harness.reference.component_client import Informer, Resource, load_api_client
from harness.reference.crds import crd_paths
from harness.reference.process import ComponentProcess
from harness.reference.stack import seed_objects

READY_TIMEOUT = 30.0
TOKEN = "integration-test-token"


@dataclass
class ApiServer:
    process: ComponentProcess
    url: str
    kubeconfig: Path

    def client(self) -> k8s.ApiClient:
        return load_api_client(self.kubeconfig)


def write_kubeconfig(path: Path, url: str, token: str = TOKEN) -> Path:
    return testing.write_kubeconfig(path, url, token=token)


@contextlib.contextmanager
def api_server(
    workdir: Path, profile: Profile, extra_args: list[str] | None = None
) -> Iterator[ApiServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    seed = workdir / "seed.yaml"
    seed.write_text(yaml.safe_dump_all(seed_objects(profile)))
    tokens = workdir / "tokens.json"
    tokens.write_text(json.dumps({"tokens": [{"token": TOKEN, "user": "system:admin"}]}))
    with testing.run_apiserver(
        workdir,
        crds=crd_paths(profile),
        seeds=[seed],
        tokens=tokens,
        token=TOKEN,
        extra_args=extra_args or [],
        timeout=READY_TIMEOUT,
    ) as server:
        yield ApiServer(server.process, server.url, server.kubeconfig)


@contextlib.contextmanager
def component(name: str, module: str, args: list[str], workdir: Path) -> Iterator[ComponentProcess]:
    process = ComponentProcess(name, module, args, workdir / f"{name}.log")
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT)
        yield process
    finally:
        process.stop()


class Recorder:
    """Watches one resource; keeps every event; waits on predicates over the cache."""

    def __init__(self, api_client: k8s.ApiClient, resource: Resource) -> None:
        self.informer = Informer(api_client, resource, watch_timeout=10)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.informer.add_handler(self._record)

    def _record(self, kind: str, obj: dict[str, Any], _previous: dict[str, Any] | None) -> None:
        with self._lock:
            self.events.append((kind, obj))

    def start(self) -> Recorder:
        self.informer.start()
        assert self.informer.wait_synced(10), "recorder did not sync"
        return self

    def stop(self) -> None:
        self.informer.stop()

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.informer.get(namespace, name)

    def history(self, namespace: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [
                (kind, obj)
                for kind, obj in self.events
                if (obj.get("metadata") or {}).get("namespace") == namespace
                and (obj.get("metadata") or {}).get("name") == name
            ]

    def wait(
        self,
        namespace: str,
        name: str,
        predicate: Callable[[dict[str, Any] | None], bool],
        timeout: float,
        what: str,
    ) -> dict[str, Any] | None:
        ok = self.informer.wait_for(lambda: predicate(self.get(namespace, name)), timeout)
        current = self.get(namespace, name)
        assert ok, f"timed out after {timeout:.0f} s waiting for {what}; last seen: {current}"
        return current


def kubevirt_recorders(api_client: k8s.ApiClient, namespace: str) -> tuple[Recorder, Recorder]:
    vms = Recorder(
        api_client, Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, "virtualmachines", namespace)
    )
    vmis = Recorder(
        api_client,
        Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, "virtualmachineinstances", namespace),
    )
    return vms.start(), vmis.start()


@contextlib.contextmanager
def simulator_stack(
    workdir: Path, profile: Profile, namespace: str, *extra_args: str
) -> Iterator[dict]:
    """The embedded API server and the KubeVirt simulator (boot delay 0.3 s, plus `extra_args`),
    with recorders of the namespace's VMs and VMIs; the simulator must still be alive at the end."""
    with api_server(workdir, profile) as api:
        args = ["--kubeconfig", str(api.kubeconfig), "--boot-delay", "0.3", *extra_args]
        with component("kubevirt", "harness.reference.kubevirt", args, workdir) as sim:
            api_client = api.client()
            vms, vmis = kubevirt_recorders(api_client, namespace)
            try:
                yield {
                    "api": k8s.CustomObjectsApi(api_client),
                    "vms": vms,
                    "vmis": vmis,
                    "sim": sim,
                }
            finally:
                vms.stop()
                vmis.stop()
                assert sim.poll() is None, f"simulator died:\n{sim.log_tail()}"
