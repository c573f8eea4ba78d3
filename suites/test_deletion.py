"""Deleting an instance mid-flight (contract §7.6 row 8, §9.5; peers' delete-during-provision)."""

from __future__ import annotations

from datetime import timedelta


def test_delete_during_a_restart_removes_everything(
    compute_instance, profile, provision_timeout, restart_timeout, future_offset
):
    """§7.6 row 8: a CR deleted while a restart is in progress takes the delete path — restart is
    not evaluated, phase Deleting, the restart conditions are left as they were — and the VM and
    VMI go with it; nothing is orphaned."""
    instance = compute_instance()
    # Future-dated, so the restart is provably still in progress when the delete arrives.
    instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    in_progress = profile.conditions.restart_in_progress
    before = instance.wait_condition(in_progress, "True", restart_timeout)

    instance.delete()
    deleting = instance.wait_status(
        lambda cr: (
            bool(cr["metadata"].get("deletionTimestamp"))
            and (cr.get("status") or {}).get("phase") == profile.phases.deleting
        ),
        provision_timeout,
        f"phase {profile.phases.deleting} on the deleted CR",
    )
    kept = next(c for c in deleting.object["status"]["conditions"] if c["type"] == in_progress)
    assert (kept["status"], kept["message"]) == (before["status"], before["message"]), (
        f"the delete path must leave the restart conditions as they were: {before} -> {kept}"
    )
    assert instance.wait_gone(provision_timeout), f"the CR was not removed; {instance.describe()}"
    instance.wait_no_orphans(provision_timeout)
    assert instance.api_lists_it() in (False, None), "the API still lists the deleted instance"


def test_delete_during_provisioning_leaves_no_orphans(compute_instance, provision_timeout):
    """Peers' delete-during-provision: deleting an instance before it runs removes the CR, and
    no VM or VMI labelled for it survives anywhere."""
    instance = compute_instance(wait="cr")
    instance.delete()
    assert instance.wait_gone(provision_timeout), f"the CR was not removed; {instance.describe()}"
    instance.wait_no_orphans(provision_timeout)
    assert instance.api_lists_it() in (False, None), "the API still lists the deleted instance"
