"""Restart requests the operator cannot carry out at once (contract §7.3, §7.6 rows 6 and 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.testkit.expectations import (
    assert_clean_restart,
    assert_restart_failed_never_seen,
    await_restart,
    await_restart_in_progress,
)
from harness.testkit.instance import InstanceSpec


def test_restart_before_the_vm_exists_fails_then_recovers(
    compute_instance, profile, server_now, provision_timeout, restart_timeout
):
    """§7.6 row 6: without a VM reference the operator sets RestartFailed=True, reason
    NoVMReference, "No VirtualMachine reference found", and does not requeue; once the VM
    appears the request is evaluated again and completes, and RestartFailed is removed.

    The request is part of the create itself, so it provably precedes the VM. It is dated a
    little in the past so that any VMI, created after it, can complete the restart."""
    instance = compute_instance(wait="cr", restart_requested_at=server_now() - timedelta(seconds=5))
    restart, types = profile.restart, profile.conditions
    failed = instance.wait_condition(types.restart_failed, "True", provision_timeout)
    assert failed["reason"] == restart.reason_no_vm_reference, (
        f"{types.restart_failed} reason was {failed['reason']!r}, expected "
        f"{restart.reason_no_vm_reference!r} (contract §7.3: no VM reference); {failed}"
    )
    assert failed["message"] == restart.message_no_vm_reference, (
        f"{types.restart_failed} message was {failed['message']!r}, expected "
        f"{restart.message_no_vm_reference!r} (contract §7.3: no VM reference)"
    )

    instance.wait_vm_reference(provision_timeout)
    request = instance.creation_request()
    result = await_restart(instance, request, restart_timeout, failure_expected=True)

    assert result.completed.object["status"]["lastRestartedAt"] == request.requested_at
    final = {c["type"]: c for c in result.completed.object["status"].get("conditions", [])}
    assert types.restart_failed not in final, (
        f"{types.restart_failed} should be removed once the restart recovered and completed "
        f"(contract §7.3, §7.4, §7.6 row 6), found {final[types.restart_failed]}"
    )
    assert types.restart_in_progress not in final, (
        f"{types.restart_in_progress} should be removed when the restart completes "
        f"(contract §7.4), found {final[types.restart_in_progress]}"
    )
    uids = instance.vmi_uids_seen()
    assert len(uids) <= 2, f"one request, at most one deletion: VMI UIDs seen {uids}"


def test_restart_of_a_halted_vm_waits_for_a_vmi_and_completes_when_started(
    compute_instance, profile, provision_timeout, restart_timeout
):
    """§7.6 row 7: a VM without a VMI (runStrategy Halted) makes the restart wait —
    RestartInProgress=True "Waiting for VMI to be created (restart requested at …)", nothing
    deleted, no RestartFailed — and it completes once the VM is started."""
    if not profile.explicit_spec_fields:
        pytest.skip(f"profile {profile.name}: the CR has no runStrategy to halt the VM with")
    instance = compute_instance(InstanceSpec(run_strategy="Halted"), wait="stopped")
    # Dated in the past: a VM started within the request's own second would create a VMI that
    # is not strictly newer (the §7.4 same-second trap) and the restart would never complete.
    request = instance.request_restart(instance.server_now() - timedelta(seconds=5))
    restart = profile.restart
    in_progress = await_restart_in_progress(instance, restart_timeout)
    assert in_progress["reason"] == restart.reason_in_progress, (
        f"RestartInProgress reason was {in_progress['reason']!r}, expected "
        f"{restart.reason_in_progress!r} (contract §7.3)"
    )
    assert in_progress["message"] == restart.message_waiting_for_vmi.format(
        requested=request.requested_at
    ), f"message was {in_progress['message']!r} (§7.3)"

    instance.set_run_strategy("Always")
    result = await_restart(instance, request, restart_timeout)
    assert_clean_restart(instance, result, waiting_for_vmi=True)
    assert_restart_failed_never_seen(instance)
