"""Requests dated in the future, and requests that arrive during a restart (contract §7.4, §7.6
rows 4 and 5). The operator never compares with the wall clock: it deletes the VMI at once, and
completes only when a VMI created after the requested moment exists."""

from __future__ import annotations

from datetime import timedelta

from harness.checks import assert_restart_failed_never_seen
from harness.contract.timestamps import parse_rfc3339


def _stuck(instance, request, restart_timeout):
    """The VMI was replaced, the replacement runs, and the restart is still in progress."""
    in_progress = instance.profile.conditions.restart_in_progress
    instance.wait_condition(
        in_progress, "True", restart_timeout, reason=instance.profile.restart.reason_in_progress
    )
    replacement = instance.wait_replacement_running(request, restart_timeout)
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
    instance.expect_no_restart(instance.from_now(request), min(quiet_window, future_offset / 2))

    instance.wait_for_server_time(future)
    instance.delete_vmi()
    completed = instance.wait_status(
        lambda cr: (cr.get("status") or {}).get("lastRestartedAt") == request.requested_at,
        restart_timeout,
        f"lastRestartedAt == {request.requested_at} once a newer VMI exists",
    )
    in_progress = instance.profile.conditions.restart_in_progress
    assert in_progress not in {c["type"] for c in completed.object["status"].get("conditions", [])}
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
    instance.expect_no_restart(second, quiet_window)
    assert instance.running_vmi().uid == replacement.uid

    instance.wait_for_server_time(parse_rfc3339(second.requested_at))
    instance.delete_vmi()
    instance.wait_status(
        lambda cr: (cr.get("status") or {}).get("lastRestartedAt") == second.requested_at,
        restart_timeout,
        f"lastRestartedAt == {second.requested_at} (the current request) once a newer VMI exists",
    )
    assert instance.last_restarted_history() == [second.requested_at], (
        f"the first request should never have completed on its own: "
        f"{instance.last_restarted_history()}"
    )
    assert_restart_failed_never_seen(instance)
