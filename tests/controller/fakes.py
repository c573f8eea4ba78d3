"""In-memory stand-ins for the controller's ports, for unit tests of the decision logic."""

from __future__ import annotations

import copy
from typing import Any

from harness.reference.component_client import ApiError, ConflictError, NotFoundError


class FakeVmis:
    """VMIs by (namespace, name); records deletions; can be told to fail."""

    def __init__(self, vmis: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self.vmis = dict(vmis or {})
        self.deleted: list[tuple[str, str]] = []
        self.get_error: ApiError | None = None
        self.delete_error: ApiError | None = None
        self.deleted_vms: list[tuple[str, str]] = []
        self.vm_patches: list[tuple[str, str, dict[str, Any]]] = []

    def get_vmi(self, namespace: str, name: str) -> dict[str, Any] | None:
        if self.get_error is not None:
            raise self.get_error
        vmi = self.vmis.get((namespace, name))
        return copy.deepcopy(vmi) if vmi is not None else None

    def delete_vmi(self, namespace: str, name: str) -> None:
        if self.delete_error is not None:
            raise self.delete_error
        if (namespace, name) not in self.vmis:
            raise NotFoundError(404, f'virtualmachineinstances.kubevirt.io "{name}" not found')
        del self.vmis[(namespace, name)]
        self.deleted.append((namespace, name))

    def list_vmis(self, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for (ns, _), v in sorted(self.vmis.items()) if ns == namespace]

    def delete_vm(self, namespace: str, name: str) -> None:
        self.deleted_vms.append((namespace, name))

    def patch_vm(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.vm_patches.append((namespace, name, patch))
        return {}


def vmi(created: str, name: str = "vm-1", namespace: str = "tenant-harness") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
        "status": {"interfaces": [{"name": "default", "ipAddress": "10.128.0.7"}]},
    }


class FakeCluster(FakeVmis):
    """ComputeInstances, Tenants and VMs in memory, with resourceVersion conflicts."""

    def __init__(self) -> None:
        super().__init__()
        self.instances: dict[tuple[str, str], dict[str, Any]] = {}
        self.tenants: dict[tuple[str, str], dict[str, Any]] = {}
        self.vms: dict[tuple[str, str], dict[str, Any]] = {}
        self.status_writes: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._rv = 0

    def _bump(self, obj: dict[str, Any]) -> None:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)

    def add_instance(self, obj: dict[str, Any]) -> None:
        self._bump(obj)
        meta = obj["metadata"]
        self.instances[(meta["namespace"], meta["name"])] = obj

    def get_instance(self, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.instances.get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def update_instance(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        stored = self.instances.get(key)
        if stored is None:
            raise NotFoundError(404, "not found")
        if stored["metadata"]["resourceVersion"] != meta.get("resourceVersion"):
            raise ConflictError(409, "the object has been modified")
        updated = copy.deepcopy(stored)
        updated["metadata"] = copy.deepcopy(meta)
        updated["spec"] = copy.deepcopy(obj.get("spec"))
        self._bump(updated)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self.instances[key]
        else:
            self.instances[key] = updated
        self.updates.append(copy.deepcopy(updated))
        return copy.deepcopy(updated)

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        stored = self.instances.get((namespace, name))
        if stored is None:
            raise NotFoundError(404, "not found")
        stored["status"] = copy.deepcopy(status)
        self._bump(stored)
        self.status_writes.append(copy.deepcopy(status))

    def get_tenant(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.tenants.get((namespace, name)))

    def list_vms(self, namespace: str, label: str, value: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(vm)
            for (ns, _), vm in self.vms.items()
            if ns == namespace and vm["metadata"].get("labels", {}).get(label) == value
        ]
