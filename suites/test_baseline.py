"""Provisioning smoke: the baseline every restart scenario starts from."""

from __future__ import annotations

from harness.testkit.expectations import (
    assert_api_shows_running,
    assert_cr_identifies_its_instance,
    assert_spec_as_asked,
    assert_vm_labelled_for_its_cr,
)


def test_instance_created_runs_with_a_running_vmi(compute_instance):
    """A created instance → a CR in the hub namespace labelled with its id, annotated with the
    tenant, carrying the operator's finalizer and the spec asked for; a VM labelled for the CR;
    a Running VMI; the API lists it in the running state.

    Contract §9.1–9.4 (created through `ComputeInstances/Create`, or as a CR with `--via cr`),
    §6 (labels and annotations), §7.1 step 1 (finalizer), §3 (spec), §10 (API state)."""
    instance = compute_instance()

    assert_cr_identifies_its_instance(instance)
    assert_vm_labelled_for_its_cr(instance)
    assert_spec_as_asked(instance)
    assert_api_shows_running(instance)
