"""Pure rules of the simulated KubeVirt: run strategy, VMI boot phases, VM/VMI status, the
replacement VMI, and the same-second guard (see the package docstring).

Names here are KubeVirt vocabulary (`kubevirt.io/v1`), not OSAC era names.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_KIND, VMI_KIND
from harness.contract.timestamps import format_rfc3339, parse_rfc3339

Obj = dict[str, Any]

# Real KubeVirt puts both on every VMI its VM controller creates: the first is the VMI
# controller's, the second the VM controller's.
VMI_FINALIZERS = ("foregroundDeleteVirtualMachine", "kubevirt.io/virtualMachineControllerFinalize")

NODE_NAME = "harness-node-0"

PENDING = "Pending"
SCHEDULING = "Scheduling"
SCHEDULED = "Scheduled"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
BOOT_PHASES = (PENDING, SCHEDULING, SCHEDULED, RUNNING)
FINAL_PHASES = frozenset({SUCCEEDED, FAILED})

# VirtualMachine printableStatus values the simulator produces.
PS_PROVISIONING = "Provisioning"
PS_STARTING = "Starting"
PS_RUNNING = "Running"
PS_STOPPING = "Stopping"
PS_STOPPED = "Stopped"
PS_TERMINATING = "Terminating"

READY = "Ready"
REASON_GUEST_NOT_RUNNING = "GuestNotRunning"
REASON_POD_TERMINATING = "PodTerminating"
REASON_VMI_NOT_EXISTS = "VMINotExists"

RUNNING_STRATEGIES = frozenset({"Always", "RerunOnFailure"})

# Replacement VMIs are created this far past the second boundary (see `earliest_creation`).
SECOND_MARGIN = 0.02


def metadata(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def is_deleting(obj: Obj | None) -> bool:
    return bool(metadata(obj).get("deletionTimestamp"))


def wants_running(vm: Obj) -> bool:
    """`spec.runStrategy` Always/RerunOnFailure, or era-A `spec.running: true`."""
    spec = vm.get("spec") or {}
    strategy = spec.get("runStrategy")
    if strategy:
        return strategy in RUNNING_STRATEGIES
    return bool(spec.get("running"))


def owner_uid(vmi: Obj) -> str | None:
    for reference in metadata(vmi).get("ownerReferences") or []:
        if reference.get("kind") == VM_KIND and reference.get("controller"):
            return str(reference.get("uid") or "")
    return None


def boot_phase(elapsed: float, boot_delay: float) -> str:
    """Pending → Scheduling → Scheduled → Running, evenly spread over `boot_delay` seconds."""
    if boot_delay <= 0 or elapsed >= boot_delay:
        return RUNNING
    step = boot_delay / 3
    return BOOT_PHASES[min(2, int(elapsed // step))]


def next_boot_step(elapsed: float, boot_delay: float) -> float | None:
    """Seconds until the boot phase changes next, or None once Running."""
    if boot_delay <= 0 or elapsed >= boot_delay:
        return None
    step = boot_delay / 3
    return (int(elapsed // step) + 1) * step - elapsed


def phase_rank(phase: str | None) -> int:
    return BOOT_PHASES.index(phase) if phase in BOOT_PHASES else -1


def ip_address_for(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return f"10.{128 + digest[0] % 64}.{digest[1]}.{2 + digest[2] % 250}"


def mac_address_for(uid: str) -> str:
    digest = hashlib.sha256(b"mac" + uid.encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])


def new_vmi(vm: Obj) -> Obj:
    """The VMI the VM controller creates: same name/namespace, owned by the VM, from the template.

    The UID and creationTimestamp are assigned by the API server.
    """
    vm_meta = metadata(vm)
    template = (vm.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    vmi_meta: Obj = {
        "name": vm_meta.get("name"),
        "namespace": vm_meta.get("namespace"),
        "labels": dict(template_meta.get("labels") or {}),
        "finalizers": list(VMI_FINALIZERS),
        "ownerReferences": [
            {
                "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
                "kind": VM_KIND,
                "name": vm_meta.get("name"),
                "uid": vm_meta.get("uid"),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if template_meta.get("annotations"):
        vmi_meta["annotations"] = dict(template_meta["annotations"])
    return {
        "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
        "kind": VMI_KIND,
        "metadata": vmi_meta,
        "spec": dict(template.get("spec") or {}),
        "status": {"phase": PENDING},
    }


def _condition(
    previous: list[Obj] | None, ctype: str, status: str, reason: str, message: str, now: datetime
) -> Obj:
    old = next((c for c in previous or [] if c.get("type") == ctype), None)
    transition = old.get("lastTransitionTime") if old and old.get("status") == status else None
    condition: Obj = {
        "type": ctype,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": transition or format_rfc3339(now),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def vmi_status(vmi: Obj, phase: str, now: datetime) -> Obj:
    """Status of a VMI in `phase`; Ready True only when Running and not being deleted."""
    previous = vmi.get("status") or {}
    conditions = previous.get("conditions")
    uid = str(metadata(vmi).get("uid") or metadata(vmi).get("name") or "")
    status: Obj = {"phase": phase}
    transitions = [
        t for t in previous.get("phaseTransitionTimestamps") or [] if t.get("phase") != phase
    ]
    old_phase = next(
        (t for t in previous.get("phaseTransitionTimestamps") or [] if t.get("phase") == phase),
        None,
    )
    transitions.append(
        old_phase or {"phase": phase, "phaseTransitionTimestamp": format_rfc3339(now)}
    )
    status["phaseTransitionTimestamps"] = transitions
    if phase_rank(phase) >= phase_rank(SCHEDULED):
        status["nodeName"] = NODE_NAME
    if is_deleting(vmi):
        ready = _condition(
            conditions, READY, "False", REASON_POD_TERMINATING, "VMI is being deleted", now
        )
    elif phase == RUNNING:
        ready = _condition(conditions, READY, "True", "", "", now)
    else:
        ready = _condition(
            conditions,
            READY,
            "False",
            REASON_GUEST_NOT_RUNNING,
            "Guest VM is not reported as running",
            now,
        )
    status["conditions"] = [ready]
    if phase == RUNNING:
        ip = ip_address_for(uid)
        status["interfaces"] = [
            {
                "name": "default",
                "ipAddress": ip,
                "ipAddresses": [ip],
                "mac": mac_address_for(uid),
                "infoSource": "domain, guest-agent",
            }
        ]
    return status


def vmi_ready(vmi: Obj | None) -> bool:
    if vmi is None or is_deleting(vmi):
        return False
    status = vmi.get("status") or {}
    if status.get("phase") != RUNNING:
        return False
    return any(
        c.get("type") == READY and c.get("status") == "True" for c in status.get("conditions") or []
    )


def vm_status(vm: Obj, vmi: Obj | None, now: datetime) -> Obj:
    """The VirtualMachine status KubeVirt would show for this VM and its (owned) VMI."""
    previous = vm.get("status") or {}
    previous_printable = previous.get("printableStatus") or ""
    if is_deleting(vm):
        printable = PS_TERMINATING
    elif vmi is not None and is_deleting(vmi):
        printable = PS_STOPPING
    elif vmi is not None:
        phase = (vmi.get("status") or {}).get("phase")
        if phase == RUNNING:
            printable = PS_RUNNING
        elif phase in FINAL_PHASES:
            printable = PS_STOPPED
        else:
            printable = PS_STARTING
    elif wants_running(vm):
        first_start = previous_printable in ("", PS_PROVISIONING)
        printable = PS_PROVISIONING if first_start else PS_STARTING
    else:
        printable = PS_STOPPED
    ready = vmi_ready(vmi)
    conditions = previous.get("conditions")
    if ready:
        condition = _condition(conditions, READY, "True", "", "", now)
    elif vmi is None:
        condition = _condition(
            conditions, READY, "False", REASON_VMI_NOT_EXISTS, "VMI does not exist", now
        )
    else:
        vmi_ready_condition = next(
            (
                c
                for c in (vmi.get("status") or {}).get("conditions") or []
                if c.get("type") == READY
            ),
            {},
        )
        condition = _condition(
            conditions,
            READY,
            "False",
            vmi_ready_condition.get("reason") or REASON_GUEST_NOT_RUNNING,
            vmi_ready_condition.get("message") or "",
            now,
        )
    status: Obj = {"printableStatus": printable, "conditions": [condition]}
    # KubeVirt's `created`/`ready` are `omitempty` booleans: absent when false.
    if vmi is not None:
        status["created"] = True
    if ready:
        status["ready"] = True
    generation = metadata(vm).get("generation")
    if generation is not None:
        status["observedGeneration"] = generation
        status["desiredGeneration"] = generation
    return status


def status_merge_patch(old: Obj | None, new: Obj) -> Obj:
    """A JSON merge patch turning status `old` into `new` (removed keys become null)."""
    patch: Obj = dict(new)
    for key in old or {}:
        if key not in new:
            patch[key] = None
    return patch


def earliest_creation(last_deletion: datetime) -> datetime:
    """When a replacement VMI may be created: past the second of the old VMI's deletion.

    creationTimestamp has whole-second resolution and the controller completes a restart only
    when `vmi.creationTimestamp > spec.restartRequestedAt` (strictly). The request precedes the
    deletion, so a VMI created in a later second than the deletionTimestamp always completes it.
    """
    whole = last_deletion.replace(microsecond=0)
    return whole + timedelta(seconds=1, microseconds=int(SECOND_MARGIN * 1_000_000))


def deletion_time(vmi: Obj, observed: datetime) -> datetime:
    """The old VMI's deletionTimestamp, or when we saw it vanish if it carried none."""
    stamp = metadata(vmi).get("deletionTimestamp")
    if stamp:
        try:
            return parse_rfc3339(str(stamp))
        except ValueError:
            pass
    return observed
