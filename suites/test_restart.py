"""Restart through the fulfillment API: the happy path (contract §7.2–§7.4, §7.6 row 1)."""

from __future__ import annotations

from harness.contract.timestamps import parse_rfc3339


def test_restart_replaces_the_vmi_and_records_the_request_time(compute_instance, restart_timeout):
    """A request at ≈ now on a running instance: the operator deletes the VMI (§7.3), KubeVirt
    recreates it with a new UID, and once a VMI created strictly after the request runs, the
    operator copies the request into `status.lastRestartedAt` exactly and removes both restart
    conditions (§7.4). `RestartInProgress` is visible in between; `RestartFailed` never is."""
    instance = compute_instance()
    profile = instance.profile
    restart = profile.restart
    in_progress, failed = profile.conditions.restart_in_progress, profile.conditions.restart_failed

    request = instance.request_restart()
    result = instance.wait_restart_completed(request, restart_timeout)
    requested = request.requested_at

    # The old VMI, by UID, was deleted before its replacement appeared.
    deletion = instance.vmi_deleted(request.old_vmi_uid)
    assert deletion is not None, (
        f"the VMI that ran before the request (uid {request.old_vmi_uid}) was never deleted; "
        f"{instance.describe()}"
    )
    first_new = min(o.seq for o in instance.vmi_observations() if o.uid == result.new_vmi.uid)
    assert deletion.seq < first_new, "the new VMI appeared before the old one was gone"

    # The replacement is a different VMI, created strictly after the request, and running.
    new_vmi = result.new_vmi.object
    assert result.new_vmi.uid != request.old_vmi_uid
    created = new_vmi["metadata"]["creationTimestamp"]
    assert parse_rfc3339(created) > parse_rfc3339(requested), (
        f"new VMI created at {created}, not after the request {requested} (contract §7.4)"
    )
    new_uids = instance.vmi_uids_seen(request.seq_before)
    assert (
        new_uids.count(result.new_vmi.uid) == 1
        and len([uid for uid in new_uids if uid != request.old_vmi_uid]) == 1
    ), f"expected exactly one new VMI for one request, saw UIDs {new_uids}"

    # lastRestartedAt is an exact copy of the request, on the CR and through the API.
    status = result.completed.object["status"]
    assert status["lastRestartedAt"] == requested, (
        f"lastRestartedAt was {status['lastRestartedAt']}, expected the requested {requested} "
        "(contract §7.4: an exact copy, not the VMI time or now)"
    )
    view = instance.api_view()
    assert view.last_restarted_at == requested, (
        f"API last_restarted_at was {view.last_restarted_at}, expected {requested} (contract §10)"
    )

    # RestartInProgress appeared after the request, with the contract's reason and message...
    seen = instance.conditions_seen(in_progress, since_seq=request.seq_before)
    assert any(c["status"] == "True" for _, c in seen), (
        f"{in_progress} never became True between the request and completion (contract §7.3); "
        f"{instance.describe()}"
    )
    first_true = next(c for _, c in seen if c["status"] == "True")
    assert first_true["reason"] == restart.reason_in_progress
    assert first_true["message"] == restart.message_initiated.format(requested=requested), (
        f"{in_progress} message was {first_true['message']!r} (contract §7.3)"
    )
    # ...and both restart conditions are removed on completion (era C would set them False).
    final_conditions = {c["type"]: c for c in status.get("conditions", [])}
    assert in_progress not in final_conditions, (
        f"{in_progress} should be removed on completion (contract §7.4), found "
        f"{final_conditions.get(in_progress)}"
    )
    assert failed not in final_conditions

    # RestartFailed was never present while the test ran.
    failures = instance.conditions_seen(failed)
    assert not failures, (
        f"{failed} appeared during a healthy restart: {[c for _, c in failures]} (contract §7.3)"
    )
