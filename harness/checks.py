"""Contract checks over a test's recorded history.

Each check reads the whole timeline, not just the end state, and fails with a sentence that
names the clause of the contract (`../shared/docs/contract.md`) in words a user understands:
"lastRestartedAt was 12:00:03Z, expected the requested 12:00:01Z". Findings are behaviours the
contract itself documents as hazards; they are reported, not failed.
"""

from __future__ import annotations

import contextlib
import warnings

from harness.contract.timestamps import normalize_rfc3339, parse_rfc3339
from harness.instances import ComputeInstanceUnderTest, RestartRequest, RestartResult


class ContractFinding(UserWarning):
    """A documented hazard of the contract showed up (reported in the run summary)."""


def report_finding(message: str) -> None:
    warnings.warn(ContractFinding(message), stacklevel=2)


def assert_clean_restart(
    instance: ComputeInstanceUnderTest,
    result: RestartResult,
    waiting_for_vmi: bool = False,
) -> None:
    """One accepted request: old VMI gone, exactly one new VMI created after the request,
    lastRestartedAt an exact copy, RestartInProgress seen and then removed (contract §7.3–7.4).

    `waiting_for_vmi`: no VMI existed when the operator acted (Halted VM, no VM yet), so the
    condition reads "Waiting for VMI to be created …" and nothing was deleted."""
    __tracebackhide__ = True
    request = result.request
    requested = request.requested_at
    profile = instance.profile
    in_progress = profile.conditions.restart_in_progress
    failed = profile.conditions.restart_failed

    new_uid = result.new_vmi.uid
    if request.old_vmi_uid:
        deletion = instance.vmi_deleted(request.old_vmi_uid)
        assert deletion is not None, (
            f"the VMI that ran before the request (uid {request.old_vmi_uid}) was never deleted "
            f"(contract §7.3); {instance.describe()}"
        )
        first_new = min(o.seq for o in instance.vmi_observations() if o.uid == new_uid)
        assert deletion.seq < first_new, "the new VMI appeared before the old one was gone"
    assert new_uid != request.old_vmi_uid

    created = result.new_vmi.object["metadata"]["creationTimestamp"]
    assert parse_rfc3339(created) > parse_rfc3339(requested), (
        f"the restart completed with a VMI created at {created}, not strictly after the request "
        f"{requested} (contract §7.4)"
    )
    new_uids = [
        uid for uid in instance.vmi_uids_seen(request.seq_before) if uid != request.old_vmi_uid
    ]
    assert new_uids == [new_uid], (
        f"expected exactly one new VMI for one request, saw UIDs {new_uids} (contract §7.2: no "
        "second deletion while a restart is in progress)"
    )

    status = result.completed.object.get("status") or {}
    assert status.get("lastRestartedAt") == requested, (
        f"lastRestartedAt was {status.get('lastRestartedAt')}, expected the requested "
        f"{requested} (contract §7.4: an exact copy, not the VMI time or now)"
    )

    words = profile.restart
    expected_message = (
        words.message_waiting_for_vmi if waiting_for_vmi else words.message_initiated
    ).format(requested=requested)
    seen = [
        c
        for _, c in instance.conditions_seen(in_progress, request.seq_before)
        if c.get("status") == "True"
    ]
    assert seen, (
        f"{in_progress} never became True between the request and completion "
        f"(contract §7.3); {instance.describe()}"
    )
    assert seen[0].get("reason") == words.reason_in_progress, (
        f"{in_progress} reason was {seen[0].get('reason')!r}, expected "
        f"{words.reason_in_progress!r} (contract §7.3)"
    )
    assert seen[0].get("message") == expected_message, (
        f"{in_progress} message was {seen[0].get('message')!r}, expected {expected_message!r} "
        "(contract §7.3)"
    )
    final = {c.get("type"): c for c in status.get("conditions") or []}
    for type_name in (in_progress, failed):
        assert type_name not in final, (
            f"{type_name} should be removed when the restart completes (contract §7.4), found "
            f"{final.get(type_name)} (era C would set it False/AsExpected instead)"
        )


def assert_restart_failed_never_seen(
    instance: ComputeInstanceUnderTest, since_seq: int = 0
) -> None:
    __tracebackhide__ = True
    failed = instance.profile.conditions.restart_failed
    seen = instance.conditions_seen(failed, since_seq)
    assert not seen, (
        f"{failed} appeared where the contract has no failure: "
        f"{[c for _, c in seen][:3]} (contract §7.3)"
    )


def assert_last_restarted_monotonic(instance: ComputeInstanceUnderTest) -> None:
    __tracebackhide__ = True
    history = instance.last_restarted_history()
    moments = [parse_rfc3339(value) for value in history]
    assert moments == sorted(moments) and len(set(moments)) == len(moments), (
        f"lastRestartedAt went backwards or repeated: {history} (contract §7.2: only a strictly "
        "newer request restarts)"
    )


def assert_api_reports(instance: ComputeInstanceUnderTest, last_restarted_at: str) -> None:
    """With --via api, the API's view carries the same lastRestartedAt (contract §10)."""
    __tracebackhide__ = True
    view = instance.api_view()
    if view is None:
        return
    assert view.last_restarted_at == last_restarted_at, (
        f"API last_restarted_at was {view.last_restarted_at}, expected {last_restarted_at} "
        "(contract §10)"
    )


def restart_loop(instance: ComputeInstanceUnderTest, request: RestartRequest) -> str | None:
    """A finding when one request produced more than one new VMI (the §7.6 restart loop)."""
    new_uids = [
        uid for uid in instance.vmi_uids_seen(request.seq_before) if uid != request.old_vmi_uid
    ]
    if len(new_uids) < 2:
        return None
    values = instance.last_restarted_history()
    return (
        f"restart loop: one request of {request.requested_at} produced {len(new_uids)} new VMIs "
        f"(lastRestartedAt written as {values[-3:]}); contract §7.6: a fractional "
        "restartRequestedAt is copied without its fraction, so every pass sees the request as "
        "newer than lastRestartedAt and restarts again"
    )


def history_violations(instance: ComputeInstanceUnderTest) -> list[str]:
    """Properties every recorded history must have, whatever the scenario (checked after each
    test): lastRestartedAt never goes backwards and is only ever a copy of a requested time;
    the restart conditions carry only the contract's reasons (§7.3)."""
    profile = instance.profile
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
    for observation in instance.cr_observations():
        spec = observation.object.get("spec") or {}
        status = observation.object.get("status") or {}
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
