"""Restart requests the operator cannot carry out at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.testkit.expectations import (
    assert_at_most_one_deletion,
    assert_clean_restart,
    assert_condition,
    assert_restart_conditions_removed,
    assert_restart_failed_never_seen,
    restart_failed_no_vm_reference,
    restart_waiting_for_vmi,
)
from harness.testkit.instance import InstanceSpec


def test_restart_before_the_vm_exists_fails_then_recovers(compute_instance, profile, server_now):
    """A restart requested before the VM exists → RestartFailed=True, NoVMReference, "No
    VirtualMachine reference found", without requeue; once the VM appears the request is
    evaluated again and completes, and RestartFailed is removed.

    Contract §7.6 row 6; §7.3 row 1. The request is part of the create itself, so it provably
    precedes the VM; it is dated a little in the past so that any VMI, created after it, can
    complete the restart."""
    instance = compute_instance(wait="cr", restart_requested_at=server_now() - timedelta(seconds=5))
    instance.wait_condition(restart_failed_no_vm_reference(profile), instance.provision_timeout)

    instance.wait_vm_reference()
    request = instance.creation_request()
    result = instance.wait_restart_completed(request, failure_expected=True)
    assert_restart_conditions_removed(instance, result)
    assert_at_most_one_deletion(instance, request)


def test_restart_of_a_halted_vm_waits_for_a_vmi_and_completes_when_started(
    compute_instance, profile
):
    """A VM without a VMI (runStrategy Halted) → RestartInProgress=True "Waiting for VMI to be
    created (restart requested at …)", nothing deleted, no RestartFailed; it completes once the
    VM is started.

    Contract §7.6 row 7; §7.3 row 2."""
    if not profile.explicit_spec_fields:
        pytest.skip(f"profile {profile.name}: the CR has no runStrategy to halt the VM with")
    instance = compute_instance(InstanceSpec(run_strategy="Halted"), wait="stopped")
    # Dated in the past: a VM started within the request's own second would create a VMI that
    # is not strictly newer (the §7.4 same-second rule) and the restart would never complete.
    request = instance.request_restart(instance.server_now() - timedelta(seconds=5))
    waiting = instance.wait_restart_in_progress()
    assert_condition(waiting, restart_waiting_for_vmi(profile, request.requested_at))

    instance.set_run_strategy("Always")
    result = instance.wait_restart_completed(request)
    assert_clean_restart(instance, result, waiting_for_vmi=True)
    assert_restart_failed_never_seen(instance)
