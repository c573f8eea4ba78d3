"""A restart the platform refuses (contract §7.3 row 4, §7.6 row "VMI delete rejected")."""

from __future__ import annotations

from harness.testkit.expectations import assert_clean_restart, await_restart


def test_refused_vmi_deletion_sets_restart_failed_then_recovers(
    compute_instance, embedded_only, profile, restart_timeout
):
    """§7.3: when deleting the VMI fails (here the API server refuses the delete, as RBAC without
    `delete` on virtualmachineinstances would), the operator sets RestartFailed=True, reason
    VMIDeletionFailed, "Failed to delete VMI: <error>", and retries with backoff; once the
    delete is allowed the restart completes and RestartFailed is removed."""
    instance = compute_instance()
    allow = instance.refuse_vmi_deletion()
    request = instance.request_restart()

    failed = instance.wait_condition(
        profile.conditions.restart_failed,
        "True",
        restart_timeout,
        reason=profile.restart.reason_vmi_deletion_failed,
    )
    prefix = profile.restart.message_deletion_failed.format(error="")
    assert failed["message"].startswith(prefix), f"RestartFailed message: {failed['message']!r}"
    assert "forbidden" in failed["message"], (
        f"the message should carry the API server's refusal: {failed['message']!r}"
    )
    assert instance.vmi_deleted(request.old_vmi_uid) is None
    assert instance.running_vmi().uid == request.old_vmi_uid

    allow()
    result = await_restart(instance, request, restart_timeout, failure_expected=True)
    assert_clean_restart(instance, result)


def test_lost_status_write_after_the_delete_is_recovered(
    compute_instance, embedded_only, profile, restart_timeout
):
    """§7.6 row 10: an operator that deleted the VMI but never recorded it (it crashed before its
    status write; here the API server refuses that write) sees the request as new again on its
    next pass — so recreated VMIs may be deleted again while the write keeps failing — and once
    it can write, it completes the restart with lastRestartedAt = the request."""
    instance = compute_instance()
    allow = instance.refuse_status_writes()
    request = instance.request_restart()
    instance.wait_vmi_deleted(request.old_vmi_uid, restart_timeout)
    assert instance.status().get("lastRestartedAt") == request.status_before.get(
        "lastRestartedAt"
    ), "status was written although every status write was refused"

    allow()
    result = await_restart(instance, request, restart_timeout)
    assert result.completed.object["status"]["lastRestartedAt"] == request.requested_at
    final = {c["type"] for c in result.completed.object["status"].get("conditions", [])}
    assert profile.conditions.restart_in_progress not in final
    assert profile.conditions.restart_failed not in final
