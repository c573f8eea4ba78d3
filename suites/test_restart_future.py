"""Requests dated in the future, and requests that arrive during a restart (contract §7.4, §7.6
rows 4 and 5). The operator never compares with the wall clock: it deletes the VMI at once, and
completes only when a VMI created after the requested moment exists."""

from __future__ import annotations

from datetime import timedelta

from harness.contract.timestamps import parse_rfc3339
from harness.testkit.expectations import (
    assert_request_ignored,
    assert_restart_failed_never_seen,
    await_last_restarted_at,
)


def _stuck(instance, request, restart_timeout):
    """The VMI was replaced, the replacement runs, and the restart is still in progress."""
    profile = instance.profile
    progress = instance.wait_condition(
        profile.conditions.restart_in_progress, "True", restart_timeout
    )
    assert progress["reason"] == profile.restart.reason_in_progress, (
        f"RestartInProgress reason was {progress['reason']!r}, expected "
        f"{profile.restart.reason_in_progress!r} (contract §7.3)"
    )
    replacement = instance.wait_replacement_running(request, restart_timeout)
    replacements = [
        uid for uid in instance.vmi_uids_seen(request.seq_before) if uid != request.old_vmi_uid
    ]
    assert replacements == [replacement.uid], (
        f"one request, one deletion: {len(replacements)} replacement VMIs appeared "
        f"({[uid[:8] for uid in replacements]}) — the VMI was deleted again while the restart "
        "was in progress (contract §7.2 step 2: while RestartInProgress is True only the "
        "completion check runs)"
    )
    created = parse_rfc3339(replacement.object["metadata"]["creationTimestamp"])
    assert created <= parse_rfc3339(request.requested_at), (
        f"the replacement VMI was created at {created}, after the future request "
        f"{request.requested_at}: this environment restarts slower than the future offset"
    )
    status = instance.status()
    assert status.get("lastRestartedAt") == request.status_before.get("lastRestartedAt"), (
        f"lastRestartedAt became {status.get('lastRestartedAt')} although no VMI newer than "
        f"{request.requested_at} exists (contract §7.4)"
    )
    return replacement


def test_future_request_restarts_now_and_completes_only_after_that_moment(
    compute_instance, restart_timeout, future_offset, quiet_window
):
    """§7.6 row 4: the VMI is deleted immediately; RestartInProgress stays True and
    lastRestartedAt unchanged while the only VMI is older than the request; once a VMI created
    after the requested moment exists (here: the VMI is recreated for another reason after that
    moment), the restart completes with lastRestartedAt = the request."""
    instance = compute_instance()
    future = instance.server_now() + timedelta(seconds=future_offset)
    request = instance.request_restart(future)
    instance.wait_vmi_deleted(request.old_vmi_uid, restart_timeout)

    _stuck(instance, request, restart_timeout)
    assert_request_ignored(
        instance,
        instance.from_now(request),
        min(quiet_window, future_offset / 2),
        "contract §7.4 (while only VMIs older than the request exist, the restart stays in "
        "progress: no completion, no further deletion)",
    )

    instance.wait_for_server_time(future)
    instance.delete_vmi()
    completed = await_last_restarted_at(instance, request, request.requested_at, restart_timeout)
    in_progress = instance.profile.conditions.restart_in_progress
    final = {c["type"]: c for c in completed.object["status"].get("conditions", [])}
    assert in_progress not in final, (
        f"{in_progress} should be removed when the restart completes (contract §7.4), found "
        f"{final.get(in_progress)}"
    )
    assert_restart_failed_never_seen(instance)


def test_second_request_during_a_restart_does_not_delete_again(
    compute_instance, restart_timeout, future_offset, quiet_window
):
    """§7.6 row 5, §7.2 step 2: while RestartInProgress is True only the completion check runs —
    a newer request deletes nothing. Requests coalesce: the restart completes against the
    *current* spec value once a VMI newer than it exists."""
    instance = compute_instance()
    first = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    replacement = _stuck(instance, first, restart_timeout)

    second = instance.request_restart(parse_rfc3339(first.requested_at) + timedelta(seconds=1))
    instance.wait_request_observed(second, restart_timeout)
    assert_request_ignored(
        instance,
        second,
        quiet_window,
        "contract §7.2 step 2 (while RestartInProgress is True only the completion check runs: "
        "no second deletion)",
    )
    assert instance.running_vmi().uid == replacement.uid

    instance.wait_for_server_time(parse_rfc3339(second.requested_at))
    instance.delete_vmi()
    await_last_restarted_at(instance, first, second.requested_at, restart_timeout)
    assert instance.last_restarted_history() == [second.requested_at], (
        f"the first request should never have completed on its own: "
        f"{instance.last_restarted_history()}"
    )
    assert_restart_failed_never_seen(instance)


def test_vmi_created_in_the_requested_second_does_not_complete_the_restart(
    compute_instance, restart_timeout, future_offset, quiet_window
):
    """§7.4: completion needs a VMI created *strictly after* the request (both whole seconds) —
    the same-second rule. While a restart is in progress only the completion check runs,
    against the current spec value (§7.2 step 2), so a request dated exactly at the running
    replacement's creation second leaves the restart in progress; a VMI created in a later
    second completes it, with lastRestartedAt = that request."""
    instance = compute_instance()
    first = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    replacement = _stuck(instance, first, restart_timeout)
    created = replacement.object["metadata"]["creationTimestamp"]

    same = instance.request_restart(parse_rfc3339(created))
    assert same.requested_at == created, f"requested {same.requested_at}, meant {created}"
    instance.wait_request_observed(same, restart_timeout)
    assert_request_ignored(
        instance,
        same,
        quiet_window,
        f"contract §7.4 (the running VMI was created at {created}, the very second requested, "
        "not strictly after it: the restart must not complete)",
    )
    assert instance.running_vmi().uid == replacement.uid

    instance.delete_vmi()
    await_last_restarted_at(instance, first, same.requested_at, restart_timeout)
    assert_restart_failed_never_seen(instance)
