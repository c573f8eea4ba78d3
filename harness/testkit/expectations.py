"""Contract checks over a test's recorded history.

Each check reads the whole timeline, not just the end state, and fails with a sentence that
names the clause of the contract (`../shared/docs/contract.md`) in words a user understands:
"lastRestartedAt was 12:00:03Z, expected the requested 12:00:01Z". Findings are behaviours the
contract itself documents as hazards; they are reported, not failed.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Any

from harness.contract.timestamps import normalize_rfc3339, parse_rfc3339
from harness.testkit.instance import ComputeInstanceUnderTest, RestartRequest, RestartResult
from harness.testkit.progress import waiting
from harness.testkit.steps import step
from harness.testkit.timeline import Observation
from harness.testkit.waits import WaitTimeout, condition


@step("check: one new VMI replaced the old, lastRestartedAt copied, conditions right (§7.3-7.4)")
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


@step("check: RestartFailed never appeared (§7.3)")
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


@step("check: lastRestartedAt only moved forward (§7.2)")
def assert_last_restarted_monotonic(instance: ComputeInstanceUnderTest) -> None:
    __tracebackhide__ = True
    history = instance.last_restarted_history()
    moments = [parse_rfc3339(value) for value in history]
    assert moments == sorted(moments) and len(set(moments)) == len(moments), (
        f"lastRestartedAt went backwards or repeated: {history} (contract §7.2: only a strictly "
        "newer request restarts)"
    )


@step("check: the API reports the same lastRestartedAt (§10)")
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


@step("await the restart")
def await_restart(
    instance: ComputeInstanceUnderTest,
    request: RestartRequest,
    timeout: float,
    failure_expected: bool = False,
) -> RestartResult:
    """`instance.wait_restart_completed`, but a history that already breaks the contract on
    the way fails at once, naming the clause: lastRestartedAt set to anything but the request
    (§7.4), RestartInProgress removed without completing (§7.4), RestartFailed where the
    scenario admits no failure (§7.3; `failure_expected` for the scenarios that provoke one).
    A timeout says what the operator did and did not do, then what was last seen."""
    __tracebackhide__ = True

    def done() -> bool:
        cr, vmi = instance.cr_observation(), instance.running_vmi()
        return bool(
            cr is not None
            and cr.exists
            and vmi is not None
            and vmi.uid != request.old_vmi_uid
            and (cr.object.get("status") or {}).get("lastRestartedAt") == request.requested_at
        )

    def verdict() -> str | bool:
        return _restart_violation(instance, request, failure_expected) or done()

    started = time.monotonic()
    with waiting(f"the restart requested at {request.requested_at} to complete", timeout):
        outcome = instance.timeline.wait(
            lambda: verdict() or _recorded_early(instance, request), timeout
        )
    if outcome == _RECORDED_EARLY:
        # Completion was declared while the old VMI still runs: give its deletion's watch event
        # a moment to arrive (watches of two resources are not ordered), then judge.
        grace = min(RECORDED_GRACE, max(0.0, timeout - (time.monotonic() - started)))
        outcome = instance.timeline.wait(verdict, grace)
        if not outcome and _recorded_early(instance, request):
            outcome = _why_no_completion(instance, request)
    if isinstance(outcome, str):
        raise AssertionError(f"{outcome}; {instance.describe()}")
    if not outcome:
        raise WaitTimeout(
            f"{_why_no_completion(instance, request)} — waited {timeout:.0f} s for the restart "
            f"requested at {request.requested_at} to complete; last seen: {instance.describe()}"
        )
    return instance.wait_restart_completed(request, timeout)


RECORDED_GRACE = 3.0
_RECORDED_EARLY = "recorded-early"


def _recorded_early(instance: ComputeInstanceUnderTest, request: RestartRequest) -> str | None:
    """lastRestartedAt is the request while the VMI that ran before it was never deleted."""
    old = request.old_vmi_uid
    if not old or instance.status().get("lastRestartedAt") != request.requested_at:
        return None
    return None if instance.vmi_deleted(old) is not None else _RECORDED_EARLY


def _restart_violation(
    instance: ComputeInstanceUnderTest, request: RestartRequest, failure_expected: bool
) -> str | None:
    """What in the CR's history since `request` already breaks the contract (one object only,
    so no race between watches can make a correct operator look wrong)."""
    types = instance.profile.conditions
    before = request.status_before.get("lastRestartedAt")
    in_progress_seen = completed_seen = False
    for observation in instance.cr_observations(request.seq_before):
        if not observation.exists:
            continue
        obj = observation.object
        status = obj.get("status") or {}
        last = status.get("lastRestartedAt")
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
        same_request = (obj.get("spec") or {}).get("restartRequestedAt") == request.requested_at
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


def _why_no_completion(instance: ComputeInstanceUnderTest, request: RestartRequest) -> str:
    """The restart did not complete: what the recorded history says the operator did."""
    types = instance.profile.conditions
    requested = request.requested_at
    old = request.old_vmi_uid
    deleted = bool(old) and instance.vmi_deleted(old) is not None
    in_progress = [
        c
        for _, c in instance.conditions_seen(types.restart_in_progress, request.seq_before)
        if c.get("status") == "True"
    ]
    last = instance.status().get("lastRestartedAt")
    if old and not deleted and last == requested:
        return (
            f"lastRestartedAt was set to the request {requested}, but the VMI that ran before it "
            f"(uid {old[:8]}…) was never deleted (contract §7.3: a restart deletes the VMI; §7.4: "
            "lastRestartedAt is written only once a VMI created after the request exists)"
        )
    if old and not deleted and not in_progress:
        return (
            f"the operator never acted on the request {requested}: the VMI (uid {old[:8]}…) was "
            f"not deleted and {types.restart_in_progress} never became True (contract §7.2 step "
            "4, §7.3: a request newer than lastRestartedAt, or the first, restarts at once — "
            "there is no comparison with the wall clock)"
        )
    vmi = instance.running_vmi()
    created = (vmi.object["metadata"].get("creationTimestamp") if vmi else None) or ""
    if vmi is not None and vmi.uid != old and created and _after(created, requested):
        current = condition({"status": instance.status()}, types.restart_in_progress)
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


@step("await RestartInProgress=True")
def await_restart_in_progress(instance: ComputeInstanceUnderTest, timeout: float) -> dict[str, Any]:
    """RestartInProgress=True; fails at once, naming the clause, if RestartFailed turns True
    instead (for scenarios where the contract has the operator wait, not fail: §7.3 row 2)."""
    __tracebackhide__ = True
    types = instance.profile.conditions

    def either() -> tuple[str, dict[str, Any]] | None:
        cr = instance.cr()
        for type_name in (types.restart_failed, types.restart_in_progress):
            found = condition(cr, type_name)
            if found and found.get("status") == "True":
                return type_name, found
        return None

    with waiting(f"{types.restart_in_progress}=True", timeout):
        outcome = instance.timeline.wait(either, timeout)
    if not outcome:
        raise WaitTimeout(
            f"waited {timeout:.0f} s for condition {types.restart_in_progress}=True "
            f"(contract §7.3); last seen: {instance.describe()}"
        )
    type_name, found = outcome
    assert type_name == types.restart_in_progress, (
        f"{type_name}=True ({found.get('reason')}: {found.get('message')!r}) where the contract "
        f"has the operator wait: {types.restart_in_progress}=True, no {types.restart_failed} "
        "(contract §7.3 row 2, §7.6 row 7: a VM without a VMI)"
    )
    return found


@step("check: the request changes nothing (quiet window)")
def assert_request_ignored(
    instance: ComputeInstanceUnderTest, request: RestartRequest, window: float, clause: str
) -> None:
    """`instance.expect_no_restart`, its failure prefixed with the clause that says why the
    request must change nothing."""
    __tracebackhide__ = True
    try:
        instance.expect_no_restart(request, window)
    except AssertionError as error:
        raise AssertionError(f"{clause}: {error}") from None


@step("await lastRestartedAt")
def await_last_restarted_at(
    instance: ComputeInstanceUnderTest, request: RestartRequest, expected: str, timeout: float
) -> Observation:
    """lastRestartedAt == `expected` (the current request, once a newer VMI exists); fails at
    once, naming the clause, when it takes any other value after `request` was sent (§7.4)."""
    __tracebackhide__ = True
    before = request.status_before.get("lastRestartedAt")

    def outcome() -> Observation | str | None:
        for observation in instance.cr_observations(request.seq_before):
            last = (observation.object.get("status") or {}).get("lastRestartedAt")
            if observation.exists and last not in (before, expected):
                return (
                    f"lastRestartedAt was {last}, expected the requested {expected} (contract "
                    "§7.4: an exact copy of the current spec.restartRequestedAt, not an earlier "
                    "request, the VMI's creation time or now)"
                )
        latest = instance.cr_observation()
        status = (latest.object.get("status") or {}) if latest and latest.exists else {}
        return latest if status.get("lastRestartedAt") == expected else None

    with waiting(f"lastRestartedAt == {expected}", timeout):
        found = instance.timeline.wait(outcome, timeout)
    if isinstance(found, str):
        raise AssertionError(f"{found}; {instance.describe()}")
    if not found:
        raise WaitTimeout(
            f"{_why_no_completion(instance, replace(request, requested_at=expected))} — waited "
            f"{timeout:.0f} s for lastRestartedAt == {expected}; last seen: {instance.describe()}"
        )
    return found
