"""Explicit instance fields (contract §3; peers' `test_compute_instance_api_fields`)."""

from __future__ import annotations

import pytest

from harness.testkit.instance import InstanceSpec


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
    """§3: each of these fields carries a CEL rule `self == oldSelf` whose message names it. The
    refusal comes from the API server (HTTP 422), or from the fulfillment API carrying its
    words (INVALID_ARGUMENT); the stored value does not change."""
    instance = compute_instance()
    before = instance.cr()["spec"]
    rejection = instance.change(field, value)
    assert rejection is not None, f"changing {field} to {value!r} was accepted"
    assert message in rejection.message, f"expected {message!r} in {rejection}"
    assert rejection.code == ("422" if via == "cr" else "INVALID_ARGUMENT"), rejection
    assert instance.cr()["spec"] == before


def test_run_strategy_halted_stops_the_vm_and_always_starts_it_again(
    compute_instance, explicit_fields, provision_timeout
):
    """§3: runStrategy is mutable. Halted reaches KubeVirt (VM runStrategy Halted, printableStatus
    Stopped, no VMI, phase Stopped); Always brings a new VMI and phase Running back."""
    instance = compute_instance()
    first_vmi = instance.running_vmi()

    instance.set_run_strategy("Halted")
    stopped = instance.wait_stopped(provision_timeout)
    vm = instance.current_vm().object
    assert vm["spec"].get("runStrategy") == "Halted", f"VM spec: {vm['spec']}"
    assert stopped.object["status"]["phase"] == instance.profile.phases.stopped

    instance.set_run_strategy("Always")
    running = instance.wait_provisioned(provision_timeout)
    assert running.uid != first_vmi.uid
    assert instance.current_vm().object["spec"].get("runStrategy") == "Always"


def test_instance_created_halted_has_no_vmi(compute_instance, explicit_fields):
    """§3: an instance created with runStrategy Halted provisions a VM that never runs."""
    instance = compute_instance(InstanceSpec(run_strategy="Halted"), wait="stopped")
    assert instance.current_vmi() is None
