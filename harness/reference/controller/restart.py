"""The restart algorithm of contract §7.2–7.4 (osac-operator 912735a `computeinstance_restart.go`).

`RestartAlgorithm` is the decision order of §7.2 and the steps of §7.3/§7.4, applied to a CR
dict in memory, reading and deleting the VMI through a `VmiAccess` port. Each rule of the
contract is one small method, so that a deliberately broken variant (`mutants.py`) overrides
exactly one of them; `REFERENCE` is the unmutated algorithm and the module-level functions are
its methods. It never requeues: progress comes from watch events (the VM's status changes while
its VMI is recreated). Errors other than NotFound propagate after the conditions have been set,
so the caller still writes status before backing off.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import Any, Protocol

from harness.contract.profiles import Profile, RestartVocabulary
from harness.contract.timestamps import format_rfc3339, normalize_rfc3339, parse_rfc3339
from harness.reference.component_client import NotFoundError
from harness.reference.controller.conditions import (
    TRUE,
    is_condition_true,
    remove_condition,
    set_condition,
)

logger = logging.getLogger(__name__)


class VmiAccess(Protocol):
    def get_vmi(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The VMI, or None when it does not exist; other failures raise `ApiError`."""

    def delete_vmi(self, namespace: str, name: str) -> None:
        """Delete with default options; raises `NotFoundError` or another `ApiError`."""


class RestartDecision(enum.Enum):
    CLEAR = "no request: remove both restart conditions"
    CHECK_COMPLETION = "restart in progress: completion check only"
    ALREADY_HANDLED = "request not after lastRestartedAt: nothing changes"
    PERFORM = "new request: perform restart"


def _spec(ci: dict[str, Any]) -> dict[str, Any]:
    return ci.get("spec") or {}


def _status(ci: dict[str, Any]) -> dict[str, Any]:
    status = ci.get("status")
    if status is None:
        status = {}
        ci["status"] = status
    return status


def requested_at(ci: dict[str, Any]) -> str | None:
    value = _spec(ci).get("restartRequestedAt")
    return None if value in (None, "") else str(value)


def _vm_reference(ci: dict[str, Any]) -> tuple[str, str] | None:
    reference = (ci.get("status") or {}).get("virtualMachineReference")
    if not reference:
        return None
    return str(reference.get("namespace") or ""), str(
        reference.get("kubeVirtVirtualMachineName") or ""
    )


class RestartAlgorithm:
    """The reference algorithm; subclasses in `mutants.py` break one rule each."""

    # vocabulary (§5, §7.3)

    def vocabulary(self, profile: Profile) -> RestartVocabulary:
        """Reasons and message templates the conditions carry."""
        return profile.restart

    def observed_generation(self, ci: dict[str, Any]) -> int:
        """§5: the restart conditions carry the generation of the CR this pass read."""
        return int((ci.get("metadata") or {}).get("generation") or 0)

    def rendered(self, request: str) -> str:
        """Go's `Time.Format(time.RFC3339)` of the parsed value: whole seconds, UTC `Z`."""
        return format_rfc3339(parse_rfc3339(request))

    # §7.2 decision order

    def is_newer(self, request: str, last: str) -> bool:
        """§7.2 step 3: only a request strictly after lastRestartedAt is new."""
        return parse_rfc3339(request) > parse_rfc3339(last)

    def decide(self, ci: dict[str, Any], profile: Profile) -> RestartDecision:
        request = requested_at(ci)
        if request is None:
            return RestartDecision.CLEAR
        status = ci.get("status") or {}
        if is_condition_true(status, profile.conditions.restart_in_progress):
            return RestartDecision.CHECK_COMPLETION
        last = status.get("lastRestartedAt")
        if last and not self.is_newer(request, str(last)):
            return RestartDecision.ALREADY_HANDLED
        return RestartDecision.PERFORM

    # conditions

    def remove_restart_failed(self, status: dict[str, Any], profile: Profile) -> bool:
        """RestartFailed goes on a successful delete, on completion and without a request."""
        return remove_condition(status, profile.conditions.restart_failed)

    def clear_restart_conditions(self, ci: dict[str, Any], profile: Profile) -> bool:
        status = _status(ci)
        removed = remove_condition(status, profile.conditions.restart_in_progress)
        return self.remove_restart_failed(status, profile) or removed

    def withdrawn(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        """§7.2 step 1: no request (never made, or withdrawn): both restart conditions are
        removed, not set False, and nothing else happens."""
        self.clear_restart_conditions(ci, profile)

    # §7.4 completion check

    def restart_completed(self, request: str, vmi: dict[str, Any]) -> bool:
        """The VMI was created strictly after the request (both at whole-second resolution)."""
        created = (vmi.get("metadata") or {}).get("creationTimestamp")
        if not created:
            return False
        return parse_rfc3339(str(created)) > parse_rfc3339(request)

    def recorded_time(self, request: str, vmi: dict[str, Any], now: datetime) -> str:
        """lastRestartedAt: an exact copy of the spec value, re-serialised like metav1.Time
        (fraction dropped) — not the VMI's time, not now."""
        return normalize_rfc3339(request)

    def complete(
        self,
        ci: dict[str, Any],
        profile: Profile,
        request: str,
        vmi: dict[str, Any],
        now: datetime,
    ) -> None:
        _status(ci)["lastRestartedAt"] = self.recorded_time(request, vmi, now)
        self.clear_restart_conditions(ci, profile)

    def check_completion(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        reference = _vm_reference(ci)
        request = requested_at(ci)
        if reference is None or request is None:
            return
        vmi = vmis.get_vmi(*reference)
        if vmi is None:
            return
        if self.restart_completed(request, vmi):
            logger.info(
                "Restart completed successfully: vmiCreated=%s restartRequested=%s",
                (vmi.get("metadata") or {}).get("creationTimestamp"),
                self.rendered(request),
            )
            self.complete(ci, profile, request, vmi, now)

    # §7.3 perform restart

    def no_vm_reference(
        self, ci: dict[str, Any], profile: Profile, request: str, now: datetime
    ) -> None:
        logger.info("No VirtualMachineReference found, cannot perform restart")
        words = self.vocabulary(profile)
        set_condition(
            _status(ci),
            profile.conditions.restart_failed,
            TRUE,
            words.reason_no_vm_reference,
            words.message_no_vm_reference,
            now,
            self.observed_generation(ci),
        )

    def vmi_missing(
        self, ci: dict[str, Any], profile: Profile, request: str, now: datetime
    ) -> None:
        """No VMI (a Halted VM): wait for one; nothing deleted, RestartFailed left alone."""
        logger.info("VirtualMachineInstance not found, marking restart as in progress")
        words = self.vocabulary(profile)
        set_condition(
            _status(ci),
            profile.conditions.restart_in_progress,
            TRUE,
            words.reason_in_progress,
            words.message_waiting_for_vmi.format(requested=self.rendered(request)),
            now,
            self.observed_generation(ci),
        )

    def deletion_failed(
        self, ci: dict[str, Any], profile: Profile, error: Exception, now: datetime
    ) -> None:
        logger.error("Failed to delete VirtualMachineInstance: %s", error)
        words = self.vocabulary(profile)
        set_condition(
            _status(ci),
            profile.conditions.restart_failed,
            TRUE,
            words.reason_vmi_deletion_failed,
            words.message_deletion_failed.format(error=error),
            now,
            self.observed_generation(ci),
        )

    def initiated(self, ci: dict[str, Any], profile: Profile, request: str, now: datetime) -> None:
        """The VMI is deleted: in progress; RestartFailed removed. lastRestartedAt is written
        by the completion check, not here."""
        words = self.vocabulary(profile)
        status = _status(ci)
        set_condition(
            status,
            profile.conditions.restart_in_progress,
            TRUE,
            words.reason_in_progress,
            words.message_initiated.format(requested=self.rendered(request)),
            now,
            self.observed_generation(ci),
        )
        self.remove_restart_failed(status, profile)

    def delete_for_restart(self, vmis: VmiAccess, namespace: str, name: str) -> None:
        """§7.3: the restart deletes the referenced VMI and nothing else (§7.7)."""
        vmis.delete_vmi(namespace, name)

    def perform_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> None:
        request = requested_at(ci)
        assert request is not None
        reference = _vm_reference(ci)
        if reference is None:
            self.no_vm_reference(ci, profile, request, now)
            return
        namespace, name = reference
        vmi = vmis.get_vmi(namespace, name)
        if vmi is None:
            self.vmi_missing(ci, profile, request, now)
            return
        logger.info(
            "Deleting VirtualMachineInstance to trigger restart: vmi=%s/%s", namespace, name
        )
        try:
            self.delete_for_restart(vmis, namespace, name)
        except NotFoundError:
            pass
        except Exception as error:
            self.deletion_failed(ci, profile, error, now)
            raise
        self.initiated(ci, profile, request, now)
        logger.info("Restart initiated successfully: restartRequestedAt=%s", self.rendered(request))

    # §7.2 applied

    def handle_restart(
        self, ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
    ) -> RestartDecision:
        """Apply §7.2 to `ci` in memory; returns the decision taken (for logs and tests)."""
        decision = self.decide(ci, profile)
        if decision is RestartDecision.CLEAR:
            self.withdrawn(ci, profile, vmis, now)
        elif decision is RestartDecision.CHECK_COMPLETION:
            self.check_completion(ci, profile, vmis, now)
        elif decision is RestartDecision.PERFORM:
            request = requested_at(ci)
            logger.info(
                "New restart request detected: requestedAt=%s", self.rendered(request or "")
            )
            self.perform_restart(ci, profile, vmis, now)
        return decision


REFERENCE = RestartAlgorithm()

decide = REFERENCE.decide
restart_completed = REFERENCE.restart_completed
clear_restart_conditions = REFERENCE.clear_restart_conditions
check_completion = REFERENCE.check_completion
perform_restart = REFERENCE.perform_restart
handle_restart = REFERENCE.handle_restart
