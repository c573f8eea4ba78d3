"""Deleting an instance mid-flight."""

from __future__ import annotations

from datetime import timedelta

from harness.testkit.expectations import (
    assert_api_does_not_list,
    assert_condition,
    assert_delete_path_left_the_restart_alone,
    restart_initiated,
)


def test_delete_during_a_restart_removes_everything(compute_instance, profile, future_offset):
    """A CR deleted while a restart is in progress → the delete path ignores the restart
    (nothing completes, the restart conditions stay as they were); the CR goes, no VM or VMI is
    left anywhere, and the id leaves the API's List.

    Contract §7.6 row 9; §9.5. The phase is not judged: a reconcile that began before the
    delete may still land its status on the deleting CR, as 912735a's retry-on-conflict status
    write does."""
    instance = compute_instance()
    # Future-dated, so the restart is provably still in progress when the delete arrives.
    request = instance.request_restart(instance.server_now() + timedelta(seconds=future_offset))
    in_progress = instance.wait_restart_in_progress()
    assert_condition(in_progress, restart_initiated(profile, request.requested_at))
    seq = instance.last_seq()

    instance.delete()
    instance.wait_gone()
    instance.wait_no_orphans()
    assert_api_does_not_list(instance)
    assert_delete_path_left_the_restart_alone(instance, request, in_progress, since_seq=seq)


def test_delete_during_provisioning_leaves_no_orphans(compute_instance):
    """An instance deleted before it runs → the CR goes, and no VM or VMI labelled for it
    survives anywhere (the peers' delete-during-provision).

    Contract §9.5."""
    instance = compute_instance(wait="cr")
    instance.delete()
    instance.wait_gone()
    instance.wait_no_orphans()
    assert_api_does_not_list(instance)
