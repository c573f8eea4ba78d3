"""The controller's API access through the official client (the I/O side of `ClusterPort`).

Reads go straight to the API server (no cache), so every reconcile sees fresh objects. VMIs are
read and deleted here but never watched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s

from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    VM_PLURAL,
    VMI_PLURAL,
    Profile,
)
from harness.reference.component_client import ConflictError, NotFoundError, translated_errors

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

# client-go's retry.DefaultRetry: 5 steps, 10 ms apart.
CONFLICT_RETRY_STEPS = 5
CONFLICT_RETRY_DELAY = 0.01
REQUEST_TIMEOUT = (10, 30)


def retry_on_conflict(action: Callable[[], Any], steps: int = CONFLICT_RETRY_STEPS) -> Any:
    for attempt in range(steps):
        try:
            return action()
        except ConflictError:
            if attempt == steps - 1:
                raise
            time.sleep(CONFLICT_RETRY_DELAY)
    return None


class KubeCluster:
    def __init__(self, api_client: k8s.ApiClient, profile: Profile) -> None:
        self.api = k8s.CustomObjectsApi(api_client)
        self.profile = profile

    # ComputeInstance

    def get_instance(self, namespace: str, name: str) -> Obj | None:
        p = self.profile
        return self._get(p.group, p.version, namespace, p.plural, name)

    def update_instance(self, obj: Obj) -> Obj:
        p = self.profile
        metadata = obj.get("metadata") or {}
        with translated_errors():
            return self.api.replace_namespaced_custom_object(
                p.group,
                p.version,
                metadata.get("namespace"),
                p.plural,
                metadata.get("name"),
                obj,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def write_status(self, namespace: str, name: str, status: Obj) -> None:
        p = self.profile

        def attempt() -> None:
            latest = self.get_instance(namespace, name)
            if latest is None:
                raise NotFoundError(404, f'{p.plural}.{p.group} "{name}" not found')
            latest["status"] = status
            with translated_errors():
                self.api.replace_namespaced_custom_object_status(
                    p.group,
                    p.version,
                    namespace,
                    p.plural,
                    name,
                    latest,
                    _request_timeout=REQUEST_TIMEOUT,
                )

        retry_on_conflict(attempt)

    def mutate_instance(
        self, namespace: str, name: str, change: Callable[[Obj], bool]
    ) -> Obj | None:
        """GET, apply `change` (returns whether it changed anything), PUT; retried on conflict.

        Returns the stored object, or None when the CR does not exist.
        """

        def attempt() -> Obj | None:
            latest = self.get_instance(namespace, name)
            if latest is None:
                return None
            if not change(latest):
                return latest
            return self.update_instance(latest)

        return retry_on_conflict(attempt)

    # Tenant

    def get_tenant(self, namespace: str, name: str) -> Obj | None:
        p = self.profile
        return self._get(p.group, p.version, namespace, p.tenant_plural, name)

    # KubeVirt

    def list_vms(self, namespace: str, label: str, value: str) -> list[Obj]:
        selector = f"{label}={value}"
        with translated_errors():
            result = self.api.list_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VM_PLURAL,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return _matching(result.get("items") or [], label, value)

    def list_vms_anywhere(self, label: str, value: str) -> list[Obj]:
        selector = f"{label}={value}"
        with translated_errors():
            result = self.api.list_cluster_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                VM_PLURAL,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return _matching(result.get("items") or [], label, value)

    def get_vm(self, namespace: str, name: str) -> Obj | None:
        return self._get(KUBEVIRT_GROUP, KUBEVIRT_VERSION, namespace, VM_PLURAL, name)

    def create_vm(self, vm: Obj) -> Obj:
        namespace = (vm.get("metadata") or {}).get("namespace")
        with translated_errors():
            return self.api.create_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VM_PLURAL,
                vm,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def patch_vm(self, namespace: str, name: str, patch: Obj) -> Obj:
        with translated_errors():
            return self.api.patch_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VM_PLURAL,
                name,
                patch,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def delete_vm(self, namespace: str, name: str) -> None:
        with translated_errors():
            self.api.delete_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VM_PLURAL,
                name,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def get_vmi(self, namespace: str, name: str) -> Obj | None:
        return self._get(KUBEVIRT_GROUP, KUBEVIRT_VERSION, namespace, VMI_PLURAL, name)

    def list_vmis(self, namespace: str) -> list[Obj]:
        with translated_errors():
            result = self.api.list_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VMI_PLURAL,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return list(result.get("items") or [])

    def delete_vmi(self, namespace: str, name: str) -> None:
        # Default options, like controller-runtime's client.Delete(ctx, vmi).
        with translated_errors():
            self.api.delete_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VMI_PLURAL,
                name,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def _get(self, group: str, version: str, namespace: str, plural: str, name: str) -> Obj | None:
        try:
            with translated_errors():
                return self.api.get_namespaced_custom_object(
                    group, version, namespace, plural, name, _request_timeout=REQUEST_TIMEOUT
                )
        except NotFoundError:
            return None


def _matching(items: list[Obj], label: str, value: str) -> list[Obj]:
    # Filter again locally so a server that ignores label selectors cannot widen the result.
    return [
        item
        for item in items
        if ((item.get("metadata") or {}).get("labels") or {}).get(label) == value
    ]
