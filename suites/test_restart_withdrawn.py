"""A restart request that is withdrawn: spec.restartRequestedAt removed before the restart ends.

Without a request the operator deletes both restart conditions and stops (contract §7.2 step
1): whatever the restart was waiting for, nothing of it happens afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.testkit.expectations import (
    assert_condition,
    assert_created_before,
    assert_last_restarted_at,
    assert_no_restart,
    assert_running_vmi,
    restart_failed_vmi_deletion,
    restart_initiated,
    restart_waiting_for_vmi,
)
from harness.testkit.instance import InstanceSpec

WITHDRAWN = (
    "contract §7.2 step 1: a withdrawn request restarts nothing — no deletion, no completion, "
    "no restart condition"
)


def test_withdrawn_request_waiting_for_a_newer_vmi_is_never_completed(
    compute_instance, future_offset
):
    """A request withdrawn while its restart waits for a VMI newer than it (a future request:
    the VMI was deleted at once and its replacement predates the request) → both restart
    conditions are removed, not set False; lastRestartedAt stays; a VMI created after the
    requested moment completes nothing and nothing is deleted again.

    Contract §7.2 step 1; §7.6 row 13."""
    instance = compute_instance()
    future = instance.server_now() + timedelta(seconds=future_offset)
    request = instance.request_restart(future)
    instance.wait_condition(restart_initiated(instance.profile, request.requested_at))
    assert_created_before(instance.wait_replacement_running(request), request)

    withdrawn = instance.withdraw_restart()
    instance.wait_restart_conditions_removed(withdrawn)
    assert_last_restarted_at(instance, request.last_restarted_before, WITHDRAWN)

    instance.wait_for_server_time(future)
    deleted = instance.checkpoint()
    instance.delete_vmi()  # its replacement is newer than the withdrawn request
    instance.wait_replacement_running(deleted)
    assert_no_restart(instance, since=instance.checkpoint(), clause=WITHDRAWN)
    assert_last_restarted_at(instance, request.last_restarted_before, WITHDRAWN)


def test_withdrawn_request_of_a_halted_vm_is_not_carried_out_when_it_starts(
    compute_instance, profile
):
    """A request withdrawn while its restart waits for a VMI to exist (runStrategy Halted) →
    RestartInProgress is removed, not set False; when the VM is started later, its VMI runs
    and nothing restarts: no deletion, no lastRestartedAt, no restart condition.

    Contract §7.2 step 1; §7.3 row 2; §7.6 row 13."""
    if not profile.explicit_spec_fields:
        pytest.skip(f"profile {profile.name}: the CR has no runStrategy to halt the VM with")
    instance = compute_instance(InstanceSpec(run_strategy="Halted"), wait="stopped")
    request = instance.request_restart(instance.server_now() - timedelta(seconds=5))
    waiting = instance.wait_restart_in_progress()
    assert_condition(waiting, restart_waiting_for_vmi(profile, request.requested_at))

    withdrawn = instance.withdraw_restart()
    instance.wait_restart_conditions_removed(withdrawn)
    halted = instance.checkpoint()
    instance.set_run_strategy("Always")
    started = instance.wait_replacement_running(halted)
    assert_no_restart(instance, since=instance.checkpoint(), clause=WITHDRAWN)
    assert_running_vmi(instance, started.uid, WITHDRAWN)
    assert_last_restarted_at(instance, None, WITHDRAWN)


def test_withdrawn_request_while_restart_failed_removes_it_and_deletes_nothing(
    compute_instance, can_refuse_requests, profile
):
    """A request withdrawn while its restart fails (the VMI delete is refused: RestartFailed,
    VMIDeletionFailed) → RestartFailed is removed, not set False; once the delete would be
    allowed, the VMI is still not deleted and nothing restarts.

    Contract §7.2 step 1; §7.3 row 4; §7.6 row 13."""
    instance = compute_instance()
    allow = instance.refuse_vmi_deletion()
    request = instance.request_restart()
    instance.wait_condition(restart_failed_vmi_deletion(profile, error_contains="forbidden"))

    withdrawn = instance.withdraw_restart()
    instance.wait_restart_conditions_removed(withdrawn)
    allow()
    assert_no_restart(instance, since=instance.checkpoint(), clause=WITHDRAWN)
    assert_running_vmi(instance, request.old_vmi_uid, WITHDRAWN)
    assert_last_restarted_at(instance, request.last_restarted_before, WITHDRAWN)
