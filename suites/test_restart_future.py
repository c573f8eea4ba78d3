"""Requests dated in the future, and requests that arrive during a restart.

The operator never compares with the wall clock: it deletes the VMI at once, and completes only
when a VMI created after the requested moment exists (contract §7.4).
"""

from __future__ import annotations

from datetime import timedelta

from harness.contract.timestamps import parse_rfc3339
from harness.testkit.expectations import (
    assert_created_before,
    assert_last_restarted_at,
    assert_last_restarted_history,
    assert_no_restart,
    assert_one_replacement,
    assert_restart_conditions_removed,
    assert_restart_failed_never_seen,
    assert_running_vmi,
    restart_initiated,
)

STILL_IN_PROGRESS = (
    "contract §7.4: while only VMIs older than the request exist, the restart stays in "
    "progress — no completion, no further deletion"
)
NO_SECOND_DELETION = (
    "contract §7.2 step 2: while RestartInProgress is True only the completion check runs — "
    "no second deletion"
)


def _stuck(instance, request):
    """The VMI was deleted at once and its replacement runs, yet the restart stays in progress:
    the replacement predates the requested moment. Returns the replacement."""
    instance.wait_condition(restart_initiated(instance.profile, request.requested_at))
    replacement = instance.wait_replacement_running(request)
    assert_one_replacement(instance, request, replacement)
    assert_created_before(replacement, request)
    assert_last_restarted_at(instance, request.last_restarted_before, STILL_IN_PROGRESS)
    return replacement


def test_future_request_restarts_now_and_completes_only_after_that_moment(
    compute_instance, future_offset
):
    """Request a few seconds in the future → the VMI is deleted at once; RestartInProgress stays
    True and lastRestartedAt unchanged while the only VMI predates the request; once a VMI
    created after that moment runs (here the VMI is deleted again after it), the restart
    completes with lastRestartedAt = the request.

    Contract §7.6 row 4; §7.4 (completion needs a VMI created after the request)."""
    instance = compute_instance()
    future = instance.server_now() + timedelta(seconds=future_offset)
    request = instance.request_restart(future)
    instance.wait_vmi_deleted(request.old_vmi_uid)

    _stuck(instance, request)
    quiet = min(instance.quiet_window, future_offset / 2)
    assert_no_restart(
        instance, since=instance.from_now(request), clause=STILL_IN_PROGRESS, window=quiet
    )

    instance.wait_for_server_time(future)
    instance.delete_vmi()
    completed = instance.wait_last_restarted_at(request, request.requested_at)
    assert_restart_conditions_removed(instance, completed)
    assert_restart_failed_never_seen(instance)


def test_second_request_during_a_restart_does_not_delete_again(compute_instance, future_offset):
    """A newer request while RestartInProgress is True → no second deletion; the requests
    coalesce: the restart completes against the current spec value once a VMI newer than it
    exists, and the first request never completes on its own.

    Contract §7.6 row 5; §7.2 step 2."""
    instance = compute_instance()
    first = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    replacement = _stuck(instance, first)

    second = instance.request_restart(first.moment + timedelta(seconds=1))
    instance.wait_request_observed(second)
    assert_no_restart(instance, since=second, clause=NO_SECOND_DELETION)
    assert_running_vmi(instance, replacement.uid, NO_SECOND_DELETION)

    instance.wait_for_server_time(second.moment)
    instance.delete_vmi()
    instance.wait_last_restarted_at(first, second.requested_at)
    assert_last_restarted_history(instance, [second.requested_at])
    assert_restart_failed_never_seen(instance)


def test_vmi_created_in_the_requested_second_does_not_complete_the_restart(
    compute_instance, future_offset
):
    """A request dated exactly at the running replacement's creation second, during a restart →
    the restart does not complete (not strictly after); a VMI created in a later second
    completes it with lastRestartedAt = that request.

    Contract §7.4 (the same-second rule: completion needs a VMI created strictly after the
    request, both in whole seconds); §7.2 step 2 (the check runs against the current value)."""
    instance = compute_instance()
    first = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    replacement = _stuck(instance, first)
    created = replacement.metadata["creationTimestamp"]

    same = instance.request_restart(parse_rfc3339(created))
    assert same.requested_at == created, f"requested {same.requested_at}, meant {created}"
    instance.wait_request_observed(same)
    same_second = f"contract §7.4: the running VMI was created at {created}, not after it"
    assert_no_restart(instance, since=same, clause=same_second)
    assert_running_vmi(instance, replacement.uid, same_second)

    instance.delete_vmi()
    instance.wait_last_restarted_at(first, same.requested_at)
    assert_restart_failed_never_seen(instance)
