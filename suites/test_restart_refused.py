"""A restart the platform refuses, and a status write that is lost.

Both make the API server refuse one kind of request on one object to everyone but the harness:
with the embedded server's AccessRule, or with a ValidatingAdmissionPolicy on a real one.
"""

from __future__ import annotations

from harness.testkit.expectations import (
    assert_clean_restart,
    assert_last_restarted_at,
    assert_restart_conditions_removed,
    assert_running_vmi,
    restart_failed_vmi_deletion,
)

REFUSED = "contract §7.3 row 4: a refused delete leaves the VMI in place"
NOT_WRITTEN = "every status write was refused, so none can have landed"


def test_refused_vmi_deletion_sets_restart_failed_then_recovers(
    compute_instance, can_refuse_requests, profile
):
    """The VMI delete is refused (as RBAC without `delete` on virtualmachineinstances would) →
    RestartFailed=True, VMIDeletionFailed, "Failed to delete VMI: …forbidden…", retried with
    backoff; once the delete is allowed the restart completes and RestartFailed is removed.

    Contract §7.6 row 8; §7.3 row 4; §7.5 (backoff)."""
    instance = compute_instance()
    allow = instance.refuse_vmi_deletion()
    request = instance.request_restart()

    instance.wait_condition(restart_failed_vmi_deletion(profile, error_contains="forbidden"))
    assert_running_vmi(instance, request.old_vmi_uid, REFUSED)

    allow()
    result = instance.wait_restart_completed(request, failure_expected=True)
    assert_clean_restart(instance, result)


def test_lost_status_write_after_the_delete_is_recovered(compute_instance, can_refuse_requests):
    """The operator deletes the VMI but its status write is lost (as if it crashed in between)
    → the request is seen as new again, so recreated VMIs may be deleted again while writes
    fail; once it can write, the restart completes with lastRestartedAt = the request.

    Contract §7.6 row 10."""
    instance = compute_instance()
    allow = instance.refuse_status_writes()
    request = instance.request_restart()
    instance.wait_vmi_deleted(request.old_vmi_uid)
    assert_last_restarted_at(instance, request.last_restarted_before, NOT_WRITTEN)

    allow()
    result = instance.wait_restart_completed(request)
    assert_restart_conditions_removed(instance, result)
