"""CR phase from the KubeVirt VirtualMachine's `status.printableStatus` (profile B, contract §9.3).

KubeVirt's printable statuses are KubeVirt vocabulary, not OSAC era names, so they are spelled
here; the CR phase names come from the profile.
"""

from __future__ import annotations

from typing import Any

from harness.contract.profiles import (
    PRINTABLE_KEEPING,
    PRINTABLE_RUNNING,
    PRINTABLE_STARTING,
    Phases,
)

STARTING_STATUSES = PRINTABLE_STARTING
RUNNING_STATUSES = PRINTABLE_RUNNING - {"Running"}
# Host unreachable or status not yet written: keep the phase we had.
PRESERVING_STATUSES = PRINTABLE_KEEPING

VM_CONDITION_READY = "Ready"
VM_CONDITION_PAUSED = "Paused"
VM_CONDITION_RESTART_REQUIRED = "RestartRequired"


def vm_condition_status(vm: dict[str, Any], condition_type: str) -> str | None:
    for condition in (vm.get("status") or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition.get("status")
    return None


def vm_condition_true(vm: dict[str, Any], condition_type: str) -> bool:
    return vm_condition_status(vm, condition_type) == "True"


def printable_status(vm: dict[str, Any]) -> str:
    return str((vm.get("status") or {}).get("printableStatus") or "")


def phase_from_printable_status(vm: dict[str, Any], current_phase: str, phases: Phases) -> str:
    status = printable_status(vm)
    if status in STARTING_STATUSES:
        return phases.starting
    if status == "Paused" and phases.paused:
        return phases.paused
    if status == "Running":
        # Older KubeVirt kept "Running" while paused and only set the Paused condition.
        if phases.paused and vm_condition_true(vm, VM_CONDITION_PAUSED):
            return phases.paused
        return phases.running
    if status in RUNNING_STATUSES:
        return phases.running
    if status == "Stopping" and phases.stopping:
        return phases.stopping
    if status == "Stopped" and phases.stopped:
        return phases.stopped
    if status in PRESERVING_STATUSES:
        return current_phase
    return phases.failed
