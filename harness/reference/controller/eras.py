"""What differs between profile B (osac, 912735a), profile A (cloudkit, c10285e) and profile
A2 (cloudkit-jobs, 36ae96c).

Every era difference the reconciler needs sits in one small method or flag here; names come from
the profile. All eras share the restart algorithm, the tenant lookup and the VM search. A2 is
era A's reconciler with the renamed phases and jobs in `status.jobs`, provisioned as 36ae96c
does: one provision job per instance (a new config version polls it again instead of starting
another), and a failed job fails the instance whether or not a VM exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from harness.contract.profiles import Profile
from harness.reference.controller.conditions import (
    FALSE,
    REASON_AS_EXPECTED,
    REASON_INITIALIZED,
    TRUE,
    find_condition,
    set_condition,
)
from harness.reference.controller.config_version import SPEC_FIELDS_A, SPEC_FIELDS_B, SpecField
from harness.reference.controller.outcome import DONE, Outcome, requeue
from harness.reference.controller.phases import (
    VM_CONDITION_READY,
    VM_CONDITION_RESTART_REQUIRED,
    phase_from_printable_status,
    printable_status,
    vm_condition_true,
)

TENANT_NOT_READY_REQUEUE = 10.0
MESSAGE_APPLYING = "Applying configuration"
MESSAGE_PROVISIONING = "Provisioning infrastructure resources"


class IpLookup(Protocol):
    def __call__(self, namespace: str, name: str) -> str: ...


def _status(ci: dict[str, Any]) -> dict[str, Any]:
    status = ci.get("status")
    if status is None:
        status = {}
        ci["status"] = status
    return status


def set_vm_reference(ci: dict[str, Any], vm: dict[str, Any]) -> None:
    metadata = vm.get("metadata") or {}
    _status(ci)["virtualMachineReference"] = {
        "namespace": metadata.get("namespace") or "",
        "kubeVirtVirtualMachineName": metadata.get("name") or "",
    }


class EraRules:
    """Profile B behaviour; `CloudkitRules` overrides the era-A differences."""

    uses_jobs = True
    # 912735a starts a new provision job when the config version moved on; 36ae96c only when
    # the instance has no provision job yet (otherwise it polls the latest one again).
    new_job_per_config_version = True
    # 912735a: a failed provision job fails the instance only while it has no VM yet.
    failed_job_fails_only_first_provision = True

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.types = profile.conditions
        self.phases = profile.phases

    @property
    def spec_fields(self) -> tuple[SpecField, ...]:
        return SPEC_FIELDS_B

    def initial_conditions(self) -> tuple[tuple[str, str], ...]:
        """(type, status) pairs initialised with reason `Initialized`, in the operator's order."""
        t = self.types
        names = (t.configuration_applied, t.available, t.provisioned, t.restart_required)
        return tuple((name, FALSE) for name in names if name)

    def initialise(self, ci: dict[str, Any], now: datetime) -> None:
        status = _status(ci)
        status.setdefault("conditions", [])
        for condition_type, condition_status in self.initial_conditions():
            if find_condition(status, condition_type) is None:
                set_condition(status, condition_type, condition_status, REASON_INITIALIZED, "", now)
        self.initialise_phase(status)

    def initialise_phase(self, status: dict[str, Any]) -> None:
        if not status.get("phase"):
            status["phase"] = self.phases.starting

    def tenant_not_ready(self) -> Outcome:
        return requeue(TENANT_NOT_READY_REQUEUE)

    def tenant_ready(self, ci: dict[str, Any], now: datetime) -> None:
        pass

    def observe_vm(
        self, ci: dict[str, Any], vm: dict[str, Any], ip_of: IpLookup, now: datetime
    ) -> None:
        set_vm_reference(ci, vm)
        status = _status(ci)
        t = self.types
        assert t.provisioned and t.restart_required
        if printable_status(vm) == "Provisioning":
            set_condition(
                status, t.provisioned, FALSE, REASON_AS_EXPECTED, MESSAGE_PROVISIONING, now
            )
        else:
            set_condition(status, t.provisioned, TRUE, REASON_AS_EXPECTED, "", now)
        if vm_condition_true(vm, VM_CONDITION_READY):
            metadata = vm.get("metadata") or {}
            ip = ip_of(metadata.get("namespace") or "", metadata.get("name") or "")
            set_condition(status, t.available, TRUE, REASON_AS_EXPECTED, "", now)
            if ip:
                status["ipAddress"] = ip
            else:
                status.pop("ipAddress", None)
        else:
            set_condition(status, t.available, FALSE, REASON_AS_EXPECTED, "", now)
        required = TRUE if vm_condition_true(vm, VM_CONDITION_RESTART_REQUIRED) else FALSE
        set_condition(status, t.restart_required, required, REASON_AS_EXPECTED, "", now)
        status["phase"] = phase_from_printable_status(
            vm, str(status.get("phase") or ""), self.phases
        )

    def observe_no_vm(self, ci: dict[str, Any], now: datetime) -> None:
        status = _status(ci)
        t = self.types
        assert t.provisioned and t.restart_required
        status["phase"] = self.phases.starting
        set_condition(status, t.provisioned, FALSE, REASON_AS_EXPECTED, "", now)
        set_condition(status, t.available, FALSE, REASON_AS_EXPECTED, "", now)
        set_condition(status, t.restart_required, FALSE, REASON_AS_EXPECTED, "", now)

    def config_applied(self, ci: dict[str, Any], now: datetime) -> None:
        assert self.types.configuration_applied
        # The phase follows the VM's printableStatus (set above); only the condition changes.
        set_condition(
            _status(ci), self.types.configuration_applied, TRUE, REASON_AS_EXPECTED, "", now
        )

    def config_pending(self, ci: dict[str, Any], now: datetime) -> None:
        assert self.types.configuration_applied
        set_condition(
            _status(ci),
            self.types.configuration_applied,
            FALSE,
            REASON_AS_EXPECTED,
            MESSAGE_APPLYING,
            now,
        )


class CloudkitRules(EraRules):
    """Profile A (c10285e): webhooks instead of jobs, phases Progressing/Ready, no IP. With
    `uses_jobs` (profile A2, 36ae96c) the same reconciler records jobs instead."""

    uses_jobs = False
    new_job_per_config_version = False
    failed_job_fails_only_first_provision = False

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.uses_jobs = profile.records_jobs

    @property
    def spec_fields(self) -> tuple[SpecField, ...]:
        return SPEC_FIELDS_A

    def initial_conditions(self) -> tuple[tuple[str, str], ...]:
        t = self.types
        assert t.accepted and t.deleting and t.progressing
        return (
            (t.accepted, TRUE),
            (t.deleting, FALSE),
            (t.progressing, TRUE),
            (t.available, FALSE),
        )

    def initialise_phase(self, status: dict[str, Any]) -> None:
        # Era A starts every pass as Progressing; the config check sets Ready later in the pass.
        status["phase"] = self.phases.starting

    def tenant_not_ready(self) -> Outcome:
        # Era A relies on the Tenant watch instead of a timed requeue.
        return DONE

    def tenant_ready(self, ci: dict[str, Any], now: datetime) -> None:
        assert self.types.accepted
        set_condition(_status(ci), self.types.accepted, TRUE, REASON_AS_EXPECTED, "", now)

    def observe_vm(
        self, ci: dict[str, Any], vm: dict[str, Any], ip_of: IpLookup, now: datetime
    ) -> None:
        set_vm_reference(ci, vm)
        status = _status(ci)
        assert self.types.accepted
        set_condition(status, self.types.accepted, TRUE, REASON_AS_EXPECTED, "", now)
        # Era A only ever sets Available True (never back to False).
        if vm_condition_true(vm, VM_CONDITION_READY):
            set_condition(status, self.types.available, TRUE, REASON_AS_EXPECTED, "", now)

    def observe_no_vm(self, ci: dict[str, Any], now: datetime) -> None:
        pass

    def config_applied(self, ci: dict[str, Any], now: datetime) -> None:
        assert self.types.progressing
        status = _status(ci)
        status["phase"] = self.phases.running
        set_condition(status, self.types.progressing, FALSE, REASON_AS_EXPECTED, "", now)

    def config_pending(self, ci: dict[str, Any], now: datetime) -> None:
        assert self.types.progressing
        status = _status(ci)
        status["phase"] = self.phases.starting
        set_condition(
            status, self.types.progressing, TRUE, REASON_AS_EXPECTED, MESSAGE_APPLYING, now
        )


def rules_for(profile: Profile) -> EraRules:
    """Era A's reconciler for the profiles with its condition types (Accepted, Progressing),
    profile B's for the others."""
    return CloudkitRules(profile) if profile.conditions.accepted else EraRules(profile)
