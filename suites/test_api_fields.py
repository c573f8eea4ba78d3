"""Explicit instance fields (the peers' `test_compute_instance_api_fields`)."""

from __future__ import annotations

import pytest

from harness.testkit.expectations import (
    assert_refused,
    assert_spec_unchanged,
    assert_vm_run_strategy,
)
from harness.testkit.instance import InstanceSpec

IMMUTABLE = "contract §3: the field's CEL rule self == oldSelf"


@pytest.fixture
def explicit_fields(profile):
    if not profile.explicit_spec_fields:
        pytest.skip(f"profile {profile.name}: the CR has no explicit VM fields (only templateID)")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cores", 8, "cores is immutable"),
        ("memoryGiB", 16, "memoryGiB is immutable"),
        ("image.sourceRef", "quay.io/containerdisks/centos-stream:9", "image is immutable"),
        ("bootDisk.sizeGiB", 40, "bootDisk is immutable"),
    ],
)
def test_immutable_fields_are_refused_with_their_rule_message(
    compute_instance, explicit_fields, via, field, value, message
):
    """Changing `cores`, `memoryGiB`, `image` or `bootDisk` → refused with "<field> is
    immutable" (HTTP 422 from the API server, or INVALID_ARGUMENT from the API carrying its
    words); the stored spec does not change.

    Contract §3 (each field carries a CEL rule `self == oldSelf` whose message names it)."""
    instance = compute_instance()
    before = instance.checkpoint()
    assert_refused(instance.change(field, value), via, IMMUTABLE, mentions=message)
    assert_spec_unchanged(instance, before.spec_before, IMMUTABLE)


def test_run_strategy_halted_stops_the_vm_and_always_starts_it_again(
    compute_instance, explicit_fields
):
    """runStrategy Halted → VM runStrategy Halted, printableStatus Stopped, no VMI, phase
    Stopped; Always → a new VMI runs and the phase is Running again.

    Contract §3 (runStrategy is mutable), §9.3 (phase from the VM's printableStatus)."""
    instance = compute_instance()
    first = instance.running_vmi()

    instance.set_run_strategy("Halted")
    instance.wait_stopped()
    assert_vm_run_strategy(instance, "Halted")

    instance.set_run_strategy("Always")
    running = instance.wait_provisioned()
    assert running.uid != first.uid, "the VMI that runs again should be a new one"
    assert_vm_run_strategy(instance, "Always")


def test_instance_created_halted_has_no_vmi(compute_instance, explicit_fields):
    """An instance created with runStrategy Halted → a VM that never runs: no VMI.

    Contract §3."""
    instance = compute_instance(InstanceSpec(run_strategy="Halted"), wait="stopped")
    assert instance.current_vmi() is None, f"a Halted instance has a VMI: {instance.describe()}"
