# ruff: noqa: E501 (a `Killed by:` line names a whole test id)
"""Deliberately broken variants of the reference controller: proof that the suites can fail.

Each mutant is one small, named deviation from contract §7 (and §6, §9.5): a subclass of
`RestartAlgorithm` or `Reconciler` that overrides exactly one method. Its docstring says what
it does wrong (first paragraph), which clause that breaks (`Breaks:`), and which suite test is
expected to kill it (`Killed by: suites/test_x.py::test_y`); `python -m harness mutants` checks
that it does. The controller picks one at start-up (`--mutant NAME`); the reference path is
untouched.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from harness.contract.profiles import Profile, RestartVocabulary
from harness.contract.timestamps import format_rfc3339, parse_rfc3339
from harness.reference.component_client import NotFoundError
from harness.reference.controller.conditions import (
    FALSE,
    find_condition,
    is_condition_true,
)
from harness.reference.controller.outcome import DONE, Outcome
from harness.reference.controller.reconciler import Reconciler, _Pass
from harness.reference.controller.restart import (
    REFERENCE,
    RestartAlgorithm,
    RestartDecision,
    VmiAccess,
    _status,
    _vm_reference,
    requested_at,
)


class UnknownMutantError(ValueError):
    pass


@dataclass(frozen=True)
class Mutant:
    name: str
    deviation: str
    breaks: str
    killed_by: str
    restart: RestartAlgorithm = REFERENCE
    reconciler_class: type[Reconciler] = Reconciler

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "deviation": self.deviation,
            "breaks": self.breaks,
            "killed_by": self.killed_by,
        }


MUTANTS: dict[str, Mutant] = {}

_Kind = TypeVar("_Kind", bound=type)
_FIELD = re.compile(r"^\s*(Breaks|Killed by):\s*(.+?)\s*$", re.MULTILINE)


def _docstring_fields(cls: type) -> tuple[str, str, str]:
    doc = cls.__doc__ or ""
    fields = dict(_FIELD.findall(doc))
    paragraph = doc.strip().split("\n\n")[0]
    deviation = " ".join(line.strip() for line in paragraph.splitlines())
    if not deviation or "Breaks" not in fields or "Killed by" not in fields:
        raise TypeError(
            f"{cls.__name__}: a mutant's docstring needs a deviation, Breaks:, Killed by:"
        )
    return deviation, fields["Breaks"], fields["Killed by"]


def mutant(name: str) -> Callable[[_Kind], _Kind]:
    """Register the decorated `RestartAlgorithm` or `Reconciler` subclass as mutant `name`."""

    def register(cls: _Kind) -> _Kind:
        deviation, breaks, killed_by = _docstring_fields(cls)
        if issubclass(cls, RestartAlgorithm):
            entry = Mutant(name, deviation, breaks, killed_by, restart=cls())
        elif issubclass(cls, Reconciler):
            entry = Mutant(name, deviation, breaks, killed_by, reconciler_class=cls)
        else:
            raise TypeError(f"{cls.__name__}: not a RestartAlgorithm or Reconciler")
        assert name not in MUTANTS, f"mutant {name!r} registered twice"
        MUTANTS[name] = entry
        return cls

    return register


def select(name: str) -> Mutant:
    try:
        return MUTANTS[name]
    except KeyError:
        raise UnknownMutantError(
            f"unknown mutant {name!r}; known: {', '.join(sorted(MUTANTS))}"
        ) from None


# --- §7.4 completion -----------------------------------------------------------------------


@mutant("no-last-restarted-at")
class NoLastRestartedAt(RestartAlgorithm):
    """Completes a restart without writing lastRestartedAt (only removes the conditions).

    Breaks: §7.4 — on completion status.lastRestartedAt = spec.restartRequestedAt
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def complete(
        self, ci: dict[str, Any], profile: Profile, request: str, vmi: dict[str, Any], now: datetime
    ) -> None:
        self.clear_restart_conditions(ci, profile)


@mutant("records-vmi-time")
class RecordsVmiTime(RestartAlgorithm):
    """Records the new VMI's creationTimestamp as lastRestartedAt instead of the request.

    Breaks: §7.4 — lastRestartedAt is an exact copy of the request, not the VMI time
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def recorded_time(self, request: str, vmi: dict[str, Any], now: datetime) -> str:
        return str((vmi.get("metadata") or {}).get("creationTimestamp"))


@mutant("records-now")
class RecordsNow(RestartAlgorithm):
    """Records the moment of completion ("now") as lastRestartedAt instead of the request.

    Breaks: §7.4 — lastRestartedAt is an exact copy of the request, not now
    Killed by: suites/test_restart.py::test_past_request_newer_than_the_last_restart_restarts_at_once
    """

    def recorded_time(self, request: str, vmi: dict[str, Any], now: datetime) -> str:
        return format_rfc3339(now)


@mutant("keeps-in-progress")
class KeepsInProgress(RestartAlgorithm):
    """Writes lastRestartedAt on completion but never removes RestartInProgress.

    Breaks: §7.4 — completion removes both restart conditions
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def complete(
        self, ci: dict[str, Any], profile: Profile, request: str, vmi: dict[str, Any], now: datetime
    ) -> None:
        _status(ci)["lastRestartedAt"] = self.recorded_time(request, vmi, now)
        self.remove_restart_failed(_status(ci), profile)


@mutant("completes-same-second")
class CompletesSameSecond(RestartAlgorithm):
    """Completes with a VMI created in the request's own second (`>=` instead of `>`).

    Breaks: §7.4 — the VMI must be created strictly after the request
    Killed by: suites/test_restart_future.py::test_vmi_created_in_the_requested_second_does_not_complete_the_restart
    """

    def restart_completed(self, request: str, vmi: dict[str, Any]) -> bool:
        created = (vmi.get("metadata") or {}).get("creationTimestamp")
        return bool(created) and parse_rfc3339(str(created)) >= parse_rfc3339(request)


@mutant("redeletes-in-progress")
class RedeletesInProgress(RestartAlgorithm):
    """While a restart is in progress, deletes the VMI again whenever it is not newer than the
    request (a second deletion for one restart).

    Breaks: §7.2 step 2 — while RestartInProgress is True only the completion check runs
    Killed by: suites/test_restart_future.py::test_second_request_during_a_restart_does_not_delete_again
    """

    def check_completion(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        super().check_completion(ci, profile, vmis, now)
        reference, request = _vm_reference(ci), requested_at(ci)
        in_progress = is_condition_true(_status(ci), profile.conditions.restart_in_progress)
        if not in_progress or reference is None or request is None:
            return
        vmi = vmis.get_vmi(*reference)
        deleting = vmi is not None and (vmi.get("metadata") or {}).get("deletionTimestamp")
        if vmi is not None and not deleting and not self.restart_completed(request, vmi):
            with contextlib.suppress(NotFoundError):
                vmis.delete_vmi(*reference)


# --- §7.2 decision ---------------------------------------------------------------------------


@mutant("restarts-stale")
class RestartsStale(RestartAlgorithm):
    """Restarts on any request that differs from lastRestartedAt, older ones included.

    Breaks: §7.2 step 3 — a request older than lastRestartedAt is already handled
    Killed by: suites/test_restart_ignored.py::test_older_request_after_a_restart_is_ignored
    """

    def is_newer(self, request: str, last: str) -> bool:
        return parse_rfc3339(request) != parse_rfc3339(last)


@mutant("restarts-equal")
class RestartsEqual(RestartAlgorithm):
    """Restarts on a request equal to lastRestartedAt (`>=` instead of `>`).

    Breaks: §7.2 step 3 — only a request strictly after lastRestartedAt is new
    Killed by: suites/test_restart_ignored.py::test_resending_the_same_request_is_ignored
    """

    def is_newer(self, request: str, last: str) -> bool:
        return parse_rfc3339(request) >= parse_rfc3339(last)


@mutant("compares-wall-clock")
class ComparesWallClock(RestartAlgorithm):
    """Ignores a request dated more than a minute before now, as if it were stale.

    Breaks: §7.2 step 4 — there is no comparison with the wall clock (§7.6 row 2)
    Killed by: suites/test_restart.py::test_past_request_newer_than_the_last_restart_restarts_at_once
    """

    def perform_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        request = requested_at(ci)
        if request is not None and parse_rfc3339(request) < now - timedelta(minutes=1):
            return
        super().perform_restart(ci, profile, vmis, now)


@mutant("restarts-unmanaged")
class RestartsUnmanaged(Reconciler):
    """Reconciles (and restarts) a CR annotated `management-state: unmanaged`.

    Breaks: §6, §7.6 row 11 — the operator ignores an unmanaged CR
    Killed by: suites/test_restart_ignored.py::test_unmanaged_instance_is_left_alone
    """

    def is_unmanaged(self, ci: dict[str, Any]) -> bool:
        return False


# --- §7.3 perform restart --------------------------------------------------------------------


@mutant("records-without-delete")
class RecordsWithoutDelete(RestartAlgorithm):
    """Writes lastRestartedAt for a new request at once, without deleting the VMI.

    Breaks: §7.3 — a restart deletes the VMI; lastRestartedAt is written only on completion
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def perform_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        self.complete(ci, profile, str(requested_at(ci)), {}, now)


@mutant("ignores-refused-deletion")
class IgnoresRefusedDeletion(RestartAlgorithm):
    """Treats a refused VMI delete as done and reports the restart as initiated.

    Breaks: §7.3 row 4, §7.6 row 8 — a failed delete sets RestartFailed/VMIDeletionFailed and is retried
    Killed by: suites/test_restart_refused.py::test_refused_vmi_deletion_sets_restart_failed_then_recovers
    """

    def delete_for_restart(self, vmis: VmiAccess, namespace: str, name: str) -> None:
        with contextlib.suppress(Exception):
            super().delete_for_restart(vmis, namespace, name)


@mutant("acts-once-per-request")
class ActsOncePerRequest(RestartAlgorithm):
    """Remembers in memory each request whose VMI it deleted and never acts on it again, so a
    status write lost after the delete leaves the request unfinished for good.

    Breaks: §7.6 row 10 — with the status write lost the request is new again and is carried out
    Killed by: suites/test_restart_refused.py::test_lost_status_write_after_the_delete_is_recovered
    """

    def handle_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> RestartDecision:
        acted: set[tuple[str, str]] = self.__dict__.setdefault("acted", set())
        key = (str((ci.get("metadata") or {}).get("uid") or ""), str(requested_at(ci)))
        if key in acted and self.decide(ci, profile) is RestartDecision.PERFORM:
            return RestartDecision.ALREADY_HANDLED
        decision = super().handle_restart(ci, profile, vmis, now)
        in_progress = is_condition_true(_status(ci), profile.conditions.restart_in_progress)
        if decision is RestartDecision.PERFORM and in_progress:
            acted.add(key)
        return decision


@mutant("failed-on-success")
class FailedOnSuccess(RestartAlgorithm):
    """Sets RestartFailed=True/VMIDeletionFailed after a successful VMI deletion.

    Breaks: §7.3 — a successful delete removes RestartFailed
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def initiated(self, ci: dict[str, Any], profile: Profile, request: str, now: datetime) -> None:
        super().initiated(ci, profile, request, now)
        self.deletion_failed(ci, profile, RuntimeError("<nil>"), now)


@mutant("halted-fails")
class HaltedFails(RestartAlgorithm):
    """A VM without a VMI (Halted) gets RestartFailed=True/VMIDeletionFailed instead of waiting.

    Breaks: §7.3 row 2, §7.6 row 7 — no VMI: RestartInProgress "Waiting for VMI to be created …", no RestartFailed
    Killed by: suites/test_restart_preconditions.py::test_restart_of_a_halted_vm_waits_for_a_vmi_and_completes_when_started
    """

    def vmi_missing(
        self, ci: dict[str, Any], profile: Profile, request: str, now: datetime
    ) -> None:
        reference = _vm_reference(ci) or ("", "")
        error = NotFoundError(
            404, f'virtualmachineinstances.kubevirt.io "{reference[1]}" not found'
        )
        self.deletion_failed(ci, profile, error, now)


@mutant("keeps-failed")
class KeepsFailed(RestartAlgorithm):
    """Never removes RestartFailed: it stays after the restart recovered and completed.

    Breaks: §7.3, §7.4, §7.6 row 6 — RestartFailed is removed on a successful delete or on completion
    Killed by: suites/test_restart_preconditions.py::test_restart_before_the_vm_exists_fails_then_recovers
    """

    def remove_restart_failed(self, status: dict[str, Any], profile: Profile) -> bool:
        return False


# --- §5, §7.3 vocabulary ---------------------------------------------------------------------


@mutant("wrong-in-progress-reason")
class WrongInProgressReason(RestartAlgorithm):
    """RestartInProgress carries reason `Restarting` instead of `RestartInProgress`.

    Breaks: §5, §7.3 — RestartInProgress's reason is RestartInProgress
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def vocabulary(self, profile: Profile) -> RestartVocabulary:
        return replace(profile.restart, reason_in_progress="Restarting")


@mutant("wrong-failed-reason")
class WrongFailedReason(RestartAlgorithm):
    """RestartFailed without a VM carries reason `VMNotFound` instead of `NoVMReference`.

    Breaks: §5, §7.3 row 1 — RestartFailed reason NoVMReference when there is no VM reference
    Killed by: suites/test_restart_preconditions.py::test_restart_before_the_vm_exists_fails_then_recovers
    """

    def vocabulary(self, profile: Profile) -> RestartVocabulary:
        return replace(profile.restart, reason_no_vm_reference="VMNotFound")


@mutant("python-time-in-message")
class PythonTimeInMessage(RestartAlgorithm):
    """Renders the request in messages as Python's `2026-03-01 10:00:00+00:00`, not RFC 3339.

    Breaks: §7.3 — "Restart initiated at <RFC3339>" (Go's time.RFC3339: whole seconds, Z)
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def rendered(self, request: str) -> str:
        return str(parse_rfc3339(request))


# --- §7.7 what a restart leaves alone --------------------------------------------------------


@mutant("deletes-the-vm")
class DeletesTheVm(RestartAlgorithm):
    """Restarts by deleting the VirtualMachine instead of its VMI (the VMI goes with it through
    garbage collection; provisioning builds a new VM with a new UID).

    Breaks: §7.7 — a restart deletes the VMI, never the VirtualMachine, which keeps its UID
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def delete_for_restart(self, vmis: VmiAccess, namespace: str, name: str) -> None:
        cast(Any, vmis).delete_vm(namespace, name)


@mutant("deletes-every-vmi")
class DeletesEveryVmi(RestartAlgorithm):
    """Deletes every VMI in the VM's namespace (a delete by a selector that came out empty), not
    only the referenced one: other instances restart too.

    Breaks: §7.7 — a restart deletes only its own instance's VMI and changes no other instance
    Killed by: suites/test_restart.py::test_many_instances_restart_concurrently
    """

    def delete_for_restart(self, vmis: VmiAccess, namespace: str, name: str) -> None:
        for item in cast(Any, vmis).list_vmis(namespace):
            with contextlib.suppress(NotFoundError):
                vmis.delete_vmi(namespace, str((item.get("metadata") or {}).get("name")))


@mutant("stamps-the-vm")
class StampsTheVm(RestartAlgorithm):
    """Writes a restart stamp into the VirtualMachine's template annotations (as `kubectl
    rollout restart` does to a Deployment) before deleting the VMI.

    Breaks: §7.7 — a restart leaves the VirtualMachine's spec as it was
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def delete_for_restart(self, vmis: VmiAccess, namespace: str, name: str) -> None:
        stamp = {"harness.osac.io/restarted-by": "mutant"}
        patch = {"spec": {"template": {"metadata": {"annotations": stamp}}}}
        cast(Any, vmis).patch_vm(namespace, name, patch)
        vmis.delete_vmi(namespace, name)


@mutant("drops-vm-reference")
class DropsVmReference(RestartAlgorithm):
    """Removes status.virtualMachineReference when it deletes the VMI (the next pass writes it
    again from the VM it finds).

    Breaks: §7.7 — a restart does not change the virtualMachineReference
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def initiated(self, ci: dict[str, Any], profile: Profile, request: str, now: datetime) -> None:
        super().initiated(ci, profile, request, now)
        _status(ci).pop("virtualMachineReference", None)


# --- §9.3 the phase during a restart ---------------------------------------------------------


@mutant("failed-phase-during-restart")
class FailedPhaseDuringRestart(Reconciler):
    """Reports the phase Failed for as long as a restart is in progress, with no failure
    condition to explain it.

    Breaks: §9.3, §15.5 — the phase follows the VM (or the configuration) through a restart; Failed needs a failure to explain it
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def _handle_update(self, work: _Pass) -> Outcome:
        outcome = super()._handle_update(work)
        if is_condition_true(work.status, self.profile.conditions.restart_in_progress):
            work.status["phase"] = self.profile.phases.failed
        return outcome


# --- §5 observedGeneration -------------------------------------------------------------------


@mutant("omits-observed-generation")
class OmitsObservedGeneration(RestartAlgorithm):
    """Writes the restart conditions without observedGeneration.

    Breaks: §5 — the restart conditions carry observedGeneration equal to the CR's generation
    Killed by: suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request
    """

    def observed_generation(self, ci: dict[str, Any]) -> int:
        return 0


@mutant("stale-observed-generation")
class StaleObservedGeneration(RestartAlgorithm):
    """Writes the restart conditions with the generation before the one it read (the request's
    spec change not counted).

    Breaks: §5 — the restart conditions carry observedGeneration equal to the CR's generation
    Killed by: suites/test_restart_refused.py::test_refused_vmi_deletion_sets_restart_failed_then_recovers
    """

    def observed_generation(self, ci: dict[str, Any]) -> int:
        return max(1, int((ci.get("metadata") or {}).get("generation") or 0) - 1)


# --- §7.2 step 1 a withdrawn request ---------------------------------------------------------


@mutant("withdrawal-ignored")
class WithdrawalIgnored(RestartAlgorithm):
    """Leaves the restart conditions as they are when the request is removed.

    Breaks: §7.2 step 1 — without a request both restart conditions are removed
    Killed by: suites/test_restart_withdrawn.py::test_withdrawn_request_while_restart_failed_removes_it_and_deletes_nothing
    """

    def withdrawn(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        return None


@mutant("withdrawal-sets-false")
class WithdrawalSetsFalse(RestartAlgorithm):
    """Sets the restart conditions False when the request is removed, instead of removing them.

    Breaks: §7.2 step 1 — the restart conditions are removed, not set False
    Killed by: suites/test_restart_withdrawn.py::test_withdrawn_request_waiting_for_a_newer_vmi_is_never_completed
    """

    def withdrawn(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        status = _status(ci)
        for type_name in (
            profile.conditions.restart_in_progress,
            profile.conditions.restart_failed,
        ):
            found = find_condition(status, type_name)
            if found is not None and found.get("status") != FALSE:
                found["status"] = FALSE
                found["lastTransitionTime"] = format_rfc3339(now)


@mutant("restarts-withdrawn-request")
class RestartsWithdrawnRequest(RestartAlgorithm):
    """Remembers each instance's last request and goes on with it after the request is removed
    (a cache keyed by the CR, never invalidated).

    Breaks: §7.2 step 1 — a withdrawn request restarts nothing and leaves no restart condition
    Killed by: suites/test_restart_withdrawn.py::test_withdrawn_request_waiting_for_a_newer_vmi_is_never_completed
    """

    def handle_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> RestartDecision:
        remembered: dict[str, str] = self.__dict__.setdefault("remembered", {})
        key = str((ci.get("metadata") or {}).get("uid") or "")
        request = requested_at(ci)
        if request is not None:
            remembered[key] = request
            return super().handle_restart(ci, profile, vmis, now)
        if key not in remembered:
            return super().handle_restart(ci, profile, vmis, now)
        shadow = {**ci, "spec": {**(ci.get("spec") or {}), "restartRequestedAt": remembered[key]}}
        decision = super().handle_restart(shadow, profile, vmis, now)
        ci["status"] = shadow.get("status")
        return decision


# --- §9.5 deletion ---------------------------------------------------------------------------


@mutant("drops-finalizer-early")
class DropsFinalizerEarly(Reconciler):
    """On delete, removes its finalizer at once instead of after deprovisioning.

    Breaks: §9.5 — the operator deprovisions (VM gone, …-aap finalizer removed) before dropping its finalizer
    Killed by: suites/test_deletion.py::test_delete_during_a_restart_removes_everything
    """

    def _handle_delete(self, work: _Pass) -> Outcome:
        work.status["phase"] = self.profile.phases.deleting
        if self.profile.finalizer in work.finalizers:
            metadata = work.ci.setdefault("metadata", {})
            metadata["finalizers"] = [f for f in work.finalizers if f != self.profile.finalizer]
            self.cluster.update_instance(work.ci)
        return DONE
