"""Deleting an instance mid-flight (contract §7.6 row 8, §9.5; peers' delete-during-provision)."""

from __future__ import annotations

from datetime import timedelta


def test_delete_during_a_restart_removes_everything(
    compute_instance, profile, provision_timeout, restart_timeout, future_offset
):
    """§7.6 row 8: a CR deleted while a restart is in progress takes the delete path — restart is
    not evaluated (nothing completes, the restart conditions stay as they were) — and the VM and
    VMI go with it; nothing is orphaned. (The phase is not judged: a reconcile that began before
    the delete may still land its status on the deleting CR, as 912735a's retry-on-conflict
    status write does.)"""
    instance = compute_instance()
    # Future-dated, so the restart is provably still in progress when the delete arrives.
    request = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    in_progress = profile.conditions.restart_in_progress
    before = instance.wait_condition(in_progress, "True", restart_timeout)
    seq = instance.last_seq()

    instance.delete()
    assert instance.wait_gone(provision_timeout), (
        f"the CR was not removed {provision_timeout:.0f} s after its deletion (contract §9.5: "
        "the operator deprovisions — the VM goes, the …-aap finalizer is removed — and then "
        f"drops its own finalizer); {instance.describe()}"
    )
    instance.wait_no_orphans(provision_timeout)
    assert instance.api_lists_it() in (False, None), "the API still lists the deleted instance"

    deleting = [
        o for o in instance.cr_observations(seq) if o.object["metadata"].get("deletionTimestamp")
    ]
    for observation in deleting:
        status = observation.object.get("status") or {}
        kept = next((c for c in status.get("conditions", []) if c["type"] == in_progress), None)
        assert kept is not None and (kept["status"], kept["message"]) == (
            before["status"],
            before["message"],
        ), f"the delete path must leave {in_progress} as it was: {before} -> {kept}"
        assert status.get("lastRestartedAt") == request.status_before.get("lastRestartedAt"), (
            "a restart completed on a CR being deleted (the delete path does not evaluate it)"
        )


def test_delete_during_provisioning_leaves_no_orphans(compute_instance, provision_timeout):
    """Peers' delete-during-provision: deleting an instance before it runs removes the CR, and
    no VM or VMI labelled for it survives anywhere."""
    instance = compute_instance(wait="cr")
    instance.delete()
    assert instance.wait_gone(provision_timeout), (
        f"the CR was not removed {provision_timeout:.0f} s after its deletion (contract §9.5); "
        f"{instance.describe()}"
    )
    instance.wait_no_orphans(provision_timeout)
    assert instance.api_lists_it() in (False, None), "the API still lists the deleted instance"
