"""The restart algorithm of contract §7.2-7.4 (osac-operator 912735a `computeinstance_restart.go`).

`decide` is the decision order of §7.2 as a pure function; `handle_restart` applies it to a CR
dict in memory, reading and deleting the VMI through a `VmiAccess` port. It never requeues:
progress comes from watch events (the VM's status changes while its VMI is recreated). Errors
other than NotFound propagate after the conditions have been set, so the caller still writes
status before backing off.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import Any, Protocol

from harness.contract.profiles import Profile
from harness.contract.timestamps import format_rfc3339, normalize_rfc3339, parse_rfc3339
from harness.reference.controller.conditions import (
    TRUE,
    is_condition_true,
    remove_condition,
    set_condition,
)
from harness.reference.kubeclient import NotFoundError

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


def decide(ci: dict[str, Any], profile: Profile) -> RestartDecision:
    request = requested_at(ci)
    if request is None:
        return RestartDecision.CLEAR
    status = ci.get("status") or {}
    if is_condition_true(status, profile.conditions.restart_in_progress):
        return RestartDecision.CHECK_COMPLETION
    last = status.get("lastRestartedAt")
    if last and not parse_rfc3339(request) > parse_rfc3339(str(last)):
        return RestartDecision.ALREADY_HANDLED
    return RestartDecision.PERFORM


def restart_completed(request: str, vmi: dict[str, Any]) -> bool:
    """The VMI was created strictly after the request (both at whole-second resolution)."""
    created = (vmi.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return False
    return parse_rfc3339(str(created)) > parse_rfc3339(request)


def clear_restart_conditions(ci: dict[str, Any], profile: Profile) -> bool:
    status = _status(ci)
    removed = remove_condition(status, profile.conditions.restart_in_progress)
    return remove_condition(status, profile.conditions.restart_failed) or removed


def _vm_reference(ci: dict[str, Any]) -> tuple[str, str] | None:
    reference = (ci.get("status") or {}).get("virtualMachineReference")
    if not reference:
        return None
    return str(reference.get("namespace") or ""), str(
        reference.get("kubeVirtVirtualMachineName") or ""
    )


def _generation(ci: dict[str, Any]) -> int:
    return int((ci.get("metadata") or {}).get("generation") or 0)


def _rendered(request: str) -> str:
    """Go's `Time.Format(time.RFC3339)` of the parsed value: whole seconds, UTC `Z`."""
    return format_rfc3339(parse_rfc3339(request))


def check_completion(ci: dict[str, Any], profile: Profile, vmis: VmiAccess) -> None:
    reference = _vm_reference(ci)
    request = requested_at(ci)
    if reference is None or request is None:
        return
    vmi = vmis.get_vmi(*reference)
    if vmi is None:
        return
    if restart_completed(request, vmi):
        logger.info(
            "Restart completed successfully: vmiCreated=%s restartRequested=%s",
            (vmi.get("metadata") or {}).get("creationTimestamp"),
            _rendered(request),
        )
        # An exact copy of the spec value, re-serialised like metav1.Time (fraction dropped).
        _status(ci)["lastRestartedAt"] = normalize_rfc3339(request)
        clear_restart_conditions(ci, profile)


def perform_restart(ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime) -> None:
    request = requested_at(ci)
    assert request is not None
    status = _status(ci)
    words = profile.restart
    types = profile.conditions
    generation = _generation(ci)
    reference = _vm_reference(ci)
    if reference is None:
        logger.info("No VirtualMachineReference found, cannot perform restart")
        set_condition(
            status,
            types.restart_failed,
            TRUE,
            words.reason_no_vm_reference,
            words.message_no_vm_reference,
            now,
            generation,
        )
        return
    namespace, name = reference
    vmi = vmis.get_vmi(namespace, name)
    if vmi is None:
        logger.info("VirtualMachineInstance not found, marking restart as in progress")
        set_condition(
            status,
            types.restart_in_progress,
            TRUE,
            words.reason_in_progress,
            words.message_waiting_for_vmi.format(requested=_rendered(request)),
            now,
            generation,
        )
        return
    logger.info("Deleting VirtualMachineInstance to trigger restart: vmi=%s/%s", namespace, name)
    try:
        vmis.delete_vmi(namespace, name)
    except NotFoundError:
        pass
    except Exception as error:
        logger.error("Failed to delete VirtualMachineInstance: %s", error)
        set_condition(
            status,
            types.restart_failed,
            TRUE,
            words.reason_vmi_deletion_failed,
            words.message_deletion_failed.format(error=error),
            now,
            generation,
        )
        raise
    # lastRestartedAt is written by the completion check, not here.
    set_condition(
        status,
        types.restart_in_progress,
        TRUE,
        words.reason_in_progress,
        words.message_initiated.format(requested=_rendered(request)),
        now,
        generation,
    )
    remove_condition(status, types.restart_failed)
    logger.info("Restart initiated successfully: restartRequestedAt=%s", _rendered(request))


def handle_restart(
    ci: dict[str, Any], profile: Profile, vmis: VmiAccess, now: datetime
) -> RestartDecision:
    """Apply §7.2 to `ci` in memory; returns the decision taken (for logs and tests)."""
    decision = decide(ci, profile)
    if decision is RestartDecision.CLEAR:
        clear_restart_conditions(ci, profile)
    elif decision is RestartDecision.CHECK_COMPLETION:
        check_completion(ci, profile, vmis)
    elif decision is RestartDecision.PERFORM:
        request = requested_at(ci)
        logger.info("New restart request detected: requestedAt=%s", _rendered(request or ""))
        perform_restart(ci, profile, vmis, now)
    return decision
