"""A server with several identities (`--tokens`) and the KubeVirt CRDs, for AccessRule checks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import client, config

from harness.contract.embedded import ACCESS_RULE_PLURAL, GROUP, VERSION
from harness.reference.apiserver.testing import RunningApiServer, start_apiserver

from .helpers import CRD_DIR, unique

HARNESS = "system:serviceaccount:harness:e2e"
OPERATOR = "system:serviceaccount:osac-operator-system:controller-manager"
ALICE = "alice"
USERS = {"harness": HARNESS, "operator": OPERATOR, "alice": ALICE}
KUBEVIRT = "kubevirt.io"
KUBEVIRT_VERSION = "v1"
VMIS = "virtualmachineinstances"
VMS = "virtualmachines"


class Identities:
    """One API client per identity; `harness` is the server's own kubeconfig."""

    def __init__(self, server: RunningApiServer) -> None:
        self.server = server
        self._clients: dict[str, client.ApiClient] = {}

    def api(self, who: str) -> client.ApiClient:
        """`harness`, `operator`, `alice` (their tokens), `stranger` (a token nobody issued:
        401) or `anonymous` (no token: 403 for nearly everything)."""
        if who not in self._clients:
            if who == "harness":
                path = self.server.kubeconfig
            else:
                token = None if who == "anonymous" else f"token-{who}"
                path = self.server.kubeconfig_for(token, who)
            self._clients[who] = config.new_client_from_config(str(path))
        return self._clients[who]

    def custom(self, who: str = "harness") -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api(who))

    def core(self, who: str = "harness") -> client.CoreV1Api:
        return client.CoreV1Api(self.api(who))

    @contextlib.contextmanager
    def rule(self, body: dict[str, Any], who: str = "harness") -> Iterator[dict[str, Any]]:
        """Create an AccessRule for the duration of the block."""
        custom = self.custom(who)
        created = custom.create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, body)
        try:
            yield created
        finally:
            with contextlib.suppress(client.ApiException):
                custom.delete_cluster_custom_object(
                    GROUP, VERSION, ACCESS_RULE_PLURAL, body["metadata"]["name"]
                )

    def namespace(self, name: str | None = None) -> str:
        name = name or unique("rules")
        with contextlib.suppress(client.ApiException):
            self.core().create_namespace({"metadata": {"name": name}})
        return name

    def vmi(self, namespace: str, name: str, **metadata: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{KUBEVIRT}/{KUBEVIRT_VERSION}",
            "kind": "VirtualMachineInstance",
            "metadata": {"name": name, **metadata},
            "spec": {"domain": {}},
        }
        return self.custom().create_namespaced_custom_object(
            KUBEVIRT, KUBEVIRT_VERSION, namespace, VMIS, body
        )

    def vm(self, namespace: str, name: str) -> dict[str, Any]:
        body = {
            "apiVersion": f"{KUBEVIRT}/{KUBEVIRT_VERSION}",
            "kind": "VirtualMachine",
            "metadata": {"name": name},
            "spec": {"runStrategy": "Always"},
        }
        return self.custom().create_namespaced_custom_object(
            KUBEVIRT, KUBEVIRT_VERSION, namespace, VMS, body
        )


def start_identity_server(state: Path) -> RunningApiServer:
    tokens = state / "tokens.json"
    state.mkdir(parents=True, exist_ok=True)
    entries = [{"token": f"token-{who}", "user": user} for who, user in USERS.items()]
    tokens.write_text(json.dumps({"tokens": entries}))
    return start_apiserver(
        state,
        crds=[CRD_DIR / "kubevirt.io_virtualmachines.yaml", CRD_DIR / f"kubevirt.io_{VMIS}.yaml"],
        tokens=tokens,
        token="token-harness",
    )
