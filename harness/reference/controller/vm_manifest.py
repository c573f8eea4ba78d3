"""The KubeVirt VirtualMachine the reference provisioner applies (what the AAP create playbook
makes): named like the CR, in the tenant namespace, labelled `<prefix>computeinstance=<CR>` on
the VM and on its template, run state from the CR (`runStrategy`; era A `running: true`)."""

from __future__ import annotations

from typing import Any

from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_KIND, Profile

DEFAULT_CORES = 2
DEFAULT_MEMORY_GIB = 2
HALTED = "Halted"


def run_fields(profile: Profile, spec: dict[str, Any]) -> dict[str, Any]:
    """The VM spec field(s) saying whether it runs, in the profile's vocabulary."""
    halted = spec.get("runStrategy") == HALTED
    return dict(profile.vm_halted_field if halted else profile.vm_running_field)


def wants_running(profile: Profile, spec: dict[str, Any]) -> bool:
    return spec.get("runStrategy") != HALTED


def build_vm(profile: Profile, ci: dict[str, Any], namespace: str) -> dict[str, Any]:
    name = str((ci.get("metadata") or {}).get("name") or "")
    spec = ci.get("spec") or {}
    labels = {profile.instance_name_label: name}
    cores = int(spec.get("cores") or DEFAULT_CORES)
    memory = int(spec.get("memoryGiB") or DEFAULT_MEMORY_GIB)
    image = str(
        (spec.get("image") or {}).get("sourceRef") or "quay.io/containerdisks/fedora:latest"
    )
    disks: list[dict[str, Any]] = [{"name": "rootdisk", "disk": {"bus": "virtio"}}]
    volumes: list[dict[str, Any]] = [{"name": "rootdisk", "containerDisk": {"image": image}}]
    for index, _disk in enumerate(spec.get("additionalDisks") or []):
        disk_name = f"disk{index + 1}"
        disks.append({"name": disk_name, "disk": {"bus": "virtio"}})
        volumes.append(
            {"name": disk_name, "emptyDisk": {"capacity": f"{int(_disk.get('sizeGiB') or 1)}Gi"}}
        )
    user_data = (spec.get("userDataSecretRef") or {}).get("name")
    if user_data:
        disks.append({"name": "cloudinitdisk", "disk": {"bus": "virtio"}})
        volumes.append(
            {"name": "cloudinitdisk", "cloudInitNoCloud": {"secretRef": {"name": user_data}}}
        )
    return {
        "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
        "kind": VM_KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            **run_fields(profile, spec),
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "domain": {
                        "cpu": {"cores": cores},
                        "memory": {"guest": f"{memory}Gi"},
                        "devices": {
                            "disks": disks,
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "volumes": volumes,
                },
            },
        },
    }


def vm_update_patch(profile: Profile, ci: dict[str, Any]) -> dict[str, Any]:
    """Merge patch bringing an existing VM in line with the CR (run state and labels)."""
    name = str((ci.get("metadata") or {}).get("name") or "")
    labels = {profile.instance_name_label: name}
    return {
        "metadata": {"labels": labels},
        "spec": {
            **run_fields(profile, ci.get("spec") or {}),
            "template": {"metadata": {"labels": labels}},
        },
    }


def vm_settled(vm: dict[str, Any] | None, running: bool) -> bool:
    """The simulated KubeVirt has acted on the VM's current spec and reached the wanted state."""
    if vm is None:
        return False
    status = vm.get("status") or {}
    generation = (vm.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and int(observed) < int(generation):
        return False
    if running:
        return bool(status.get("ready"))
    return status.get("printableStatus") == "Stopped"
