"""What a recorded history says, as sentences naming the contract clause (docs/contract.md).

Pure functions of an `InstanceHistory`, used by the waits (fail at once on a violation, explain
a timeout), by the plugin (invariants checked after every test) and by expectations. Findings
are behaviours the contract itself documents as hazards; they are reported, not failed.
"""

from __future__ import annotations

import contextlib

from harness.contract.timestamps import normalize_rfc3339, parse_rfc3339
from harness.testkit.history import InstanceHistory, RestartRequest, condition
from harness.testkit.timeline import Observation


def restart_completed(
    history: InstanceHistory, request: RestartRequest
) -> tuple[Observation, Observation] | None:
    """(CR, VMI) once `lastRestartedAt` equals the request and a VMI with a new UID runs."""
    cr, vmi = history.cr_observation(), history.running_vmi()
    if cr is None or not cr.exists or vmi is None or vmi.uid == request.old_vmi_uid:
        return None
    if cr.status.get("lastRestartedAt") != request.requested_at:
        return None
    return cr, vmi


def recorded_early(history: InstanceHistory, request: RestartRequest) -> bool:
    """lastRestartedAt is the request while the VMI that ran before it was never deleted."""
    old = request.old_vmi_uid
    if not old or history.status().get("lastRestartedAt") != request.requested_at:
        return False
    return history.vmi_deleted(old) is None


def restart_violation(
    history: InstanceHistory, request: RestartRequest, failure_expected: bool = False
) -> str | None:
    """What in the CR's history since `request` already breaks the contract (one object only,
    so no race between watches can make a correct operator look wrong)."""
    types = history.profile.conditions
    before = request.last_restarted_before
    in_progress_seen = completed_seen = False
    for observation in history.cr_observations(request.seq_before):
        if not observation.exists:
            continue
        obj = observation.object
        last = observation.status.get("lastRestartedAt")
        if last not in (before, request.requested_at):
            return (
                f"lastRestartedAt was {last}, expected the requested {request.requested_at} "
                "(contract §7.4: an exact copy of spec.restartRequestedAt, not the VMI's "
                "creation time or now)"
            )
        failed = condition(obj, types.restart_failed)
        if failed and failed.get("status") == "True" and not failure_expected:
            return (
                f"{types.restart_failed}=True ({failed.get('reason')}: "
                f"{failed.get('message')!r}) during a restart the contract lets succeed "
                "(contract §7.3: only a missing VM reference or a refused VMI delete fail)"
            )
        progress = condition(obj, types.restart_in_progress)
        same_request = observation.spec.get("restartRequestedAt") == request.requested_at
        if progress and progress.get("status") == "True":
            if completed_seen and same_request:
                return (
                    f"{types.restart_in_progress} became True again after the restart requested "
                    f"at {request.requested_at} had completed (lastRestartedAt == the request; "
                    "contract §7.2 step 3: a request not strictly after lastRestartedAt is "
                    "already handled — one request, one restart)"
                )
            in_progress_seen = True
        elif in_progress_seen and last != request.requested_at and same_request:
            return (
                f"{types.restart_in_progress} was removed while lastRestartedAt is {last}, not "
                f"the requested {request.requested_at} (contract §7.4: completion writes "
                "lastRestartedAt = the request and removes the condition in one status update)"
            )
        elif last == request.requested_at:
            completed_seen = True
    return None


def last_restarted_violation(
    history: InstanceHistory, request: RestartRequest, expected: str
) -> str | None:
    """lastRestartedAt took a value other than before and `expected` since `request`."""
    before = request.last_restarted_before
    for observation in history.cr_observations(request.seq_before):
        last = observation.status.get("lastRestartedAt")
        if observation.exists and last not in (before, expected):
            return (
                f"lastRestartedAt was {last}, expected the requested {expected} (contract "
                "§7.4: an exact copy of the current spec.restartRequestedAt, not an earlier "
                "request, the VMI's creation time or now)"
            )
    return None


def why_no_completion(history: InstanceHistory, request: RestartRequest) -> str:
    """The restart did not complete: what the recorded history says the operator did."""
    types = history.profile.conditions
    requested = request.requested_at
    old = request.old_vmi_uid
    deleted = bool(old) and history.vmi_deleted(old) is not None
    in_progress = [
        c
        for _, c in history.conditions_seen(types.restart_in_progress, request.seq_before)
        if c.get("status") == "True"
    ]
    last = history.status().get("lastRestartedAt")
    if old and not deleted and last == requested:
        return (
            f"lastRestartedAt was set to the request {requested}, but the VMI that ran before it "
            f"(uid {old[:8]}…) was never deleted (contract §7.3: a restart deletes the VMI; §7.4: "
            "lastRestartedAt is written only once a VMI created after the request exists)"
        )
    if old and not deleted and not in_progress:
        return (
            f"the operator never acted on the request {requested}: the VMI (uid {old[:8]}…) was "
            f"not deleted and {types.restart_in_progress} never became True (contract "
            "§7.2 step 4, §7.3: a request newer than lastRestartedAt, or the first, restarts "
            "at once — there is no comparison with the wall clock)"
        )
    vmi = history.running_vmi()
    created = (vmi.metadata.get("creationTimestamp") if vmi else None) or ""
    if vmi is not None and vmi.uid != old and created and _after(created, requested):
        current = condition({"status": history.status()}, types.restart_in_progress)
        state = str(current.get("status")) if current else "absent"
        return (
            f"a VMI created at {created}, strictly after the request {requested}, is Running, "
            f"but lastRestartedAt is {last or '<none>'} and {types.restart_in_progress} is "
            f"{state} (contract §7.4: the completion check then copies the request into "
            "lastRestartedAt and removes both restart conditions)"
        )
    return f"the restart requested at {requested} did not complete (contract §7.3–7.4)"


def _after(created: str, requested: str) -> bool:
    try:
        return parse_rfc3339(created) > parse_rfc3339(requested)
    except ValueError:
        return False


def restart_loop(history: InstanceHistory, request: RestartRequest) -> str | None:
    """A finding when one request produced more than one new VMI (the §7.6 restart loop)."""
    new_uids = history.new_vmi_uids(request)
    if len(new_uids) < 2:
        return None
    values = history.last_restarted_history()
    return (
        f"restart loop: one request of {request.requested_at} produced {len(new_uids)} new VMIs "
        f"(lastRestartedAt written as {values[-3:]}); contract §7.6 row 12: a fractional "
        "restartRequestedAt is copied without its fraction, so every pass sees the request as "
        "newer than lastRestartedAt and restarts again"
    )


def history_violations(history: InstanceHistory) -> list[str]:
    """Properties every recorded history must have, whatever the scenario (checked after each
    test): lastRestartedAt never goes backwards and is only ever a copy of a requested time;
    the restart conditions carry only the contract's reasons (§7.3)."""
    profile = history.profile
    words = profile.restart
    allowed_reasons = {
        profile.conditions.restart_in_progress: {words.reason_in_progress},
        profile.conditions.restart_failed: {
            words.reason_no_vm_reference,
            words.reason_vmi_deletion_failed,
        },
    }
    violations: list[str] = []
    requested: set[str] = set()
    last: str | None = None
    for observation in history.cr_observations():
        spec, status = observation.spec, observation.status
        if spec.get("restartRequestedAt"):
            with contextlib.suppress(ValueError):
                requested.add(normalize_rfc3339(str(spec["restartRequestedAt"])))
        value = status.get("lastRestartedAt")
        if value and value != last:
            if last and parse_rfc3339(value) < parse_rfc3339(last):
                violations.append(f"lastRestartedAt went backwards: {last} -> {value} (§7.2)")
            if normalize_rfc3339(value) not in requested:
                violations.append(
                    f"lastRestartedAt became {value}, which was never requested (requests seen: "
                    f"{sorted(requested)}; §7.4: an exact copy of the request)"
                )
            last = value
        for item in status.get("conditions") or []:
            reasons = allowed_reasons.get(item.get("type"))
            if reasons is not None and item.get("reason") not in reasons:
                violations.append(
                    f"{item.get('type')} with reason {item.get('reason')!r}; the contract's "
                    f"reasons are {sorted(reasons)} (§7.3)"
                )
    return list(dict.fromkeys(violations))
