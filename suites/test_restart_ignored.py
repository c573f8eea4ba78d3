"""Requests that must change nothing.

No sleeps: each test first proves the operator has seen the request — `desiredConfigVersion`,
a hash of the whole spec including `restartRequestedAt`, moves on (contract §4, §7.5) — and
then watches a bounded quiet window in which any sign of a restart fails the test at once.
"""

from __future__ import annotations

from datetime import timedelta

from harness.testkit.expectations import (
    assert_last_restarted_at,
    assert_no_restart,
    assert_restart_failed_never_seen,
)

ALREADY_HANDLED = "contract §7.2 step 3: a request not strictly after lastRestartedAt is handled"
UNMANAGED = "contract §7.6 row 11: the operator ignores a CR with management-state unmanaged"


def test_older_request_after_a_restart_is_ignored(compute_instance):
    """After a restart at T, a request older than T → nothing restarts: lastRestartedAt, the VMI
    and the restart conditions stay (the peers' negative test, without their fixed sleep).

    Contract §7.6 row 3; §7.2 step 3."""
    instance = compute_instance()
    first = instance.request_restart()
    instance.wait_restart_completed(first)

    stale = instance.request_restart(first.moment - timedelta(days=365))
    instance.wait_request_observed(stale)
    assert_no_restart(instance, since=stale, clause=ALREADY_HANDLED)
    assert_last_restarted_at(instance, first.requested_at, ALREADY_HANDLED)
    assert_restart_failed_never_seen(instance)


def test_resending_the_same_request_is_ignored(compute_instance):
    """The same timestamp sent again → nothing restarts; the spec does not change, so the quiet
    window alone must stay quiet.

    Contract §7.6 row 3 (equal timestamps); §7.2 step 3."""
    instance = compute_instance()
    first = instance.request_restart()
    instance.wait_restart_completed(first)

    again = instance.request_restart(first.moment)
    assert again.requested_at == first.requested_at
    assert_no_restart(instance, since=again, clause=ALREADY_HANDLED)
    assert_last_restarted_at(instance, first.requested_at, ALREADY_HANDLED)
    assert_restart_failed_never_seen(instance)


def test_unmanaged_instance_is_left_alone(compute_instance, profile):
    """`management-state: unmanaged` → no restart, while a managed sibling given the same
    request at the same time restarts (the proof that the operator is alive and acting).

    Contract §6 (the annotation), §7.6 row 11."""
    unmanaged, sibling = compute_instance(), compute_instance()
    unmanaged.annotate(profile.management_state_annotation, "unmanaged")

    ignored = unmanaged.request_restart()
    sibling.wait_restart_completed(sibling.request_restart())
    assert_no_restart(unmanaged, since=ignored, clause=UNMANAGED)
    assert_last_restarted_at(unmanaged, ignored.last_restarted_before, UNMANAGED)
