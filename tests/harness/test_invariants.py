"""The invariants every recorded history must keep (harness/testkit/invariants.py): a correct
history has none to report; each broken one is named once, with its clause."""

from __future__ import annotations

import pytest

from harness.clients.fulfillment_api import ApiAnswer, ApiCall
from harness.contract.profiles import CLOUDKIT, OSAC
from harness.testkit import invariants
from harness.testkit.history import ActionKind
from tests.harness.recorded import Recorded, at, failed, in_progress

OLD, NEW, NEWER = "old-uid", "new-uid", "newer-uid"


def provisioned(profile=OSAC) -> Recorded:
    return Recorded(profile).cr_state().vm().vmi(OLD)


def restarted(profile=OSAC) -> Recorded:
    history = provisioned(profile)
    history.clean_restart(at(5), OLD, NEW, at(7))
    return history


def only(violations: list[str], fragment: str) -> str:
    assert len(violations) == 1, violations
    assert fragment in violations[0], violations[0]
    return violations[0]


@pytest.mark.parametrize("profile", [OSAC, CLOUDKIT], ids=lambda p: p.name)
def test_a_clean_restart_keeps_every_invariant(profile):
    assert invariants.invariant_violations(restarted(profile)) == []
    assert invariants.first_violation(restarted(profile)) is None


def test_an_instance_left_alone_keeps_every_invariant():
    assert invariants.invariant_violations(provisioned()) == []


# --- what a restart leaves alone (§7.7) ----------------------------------------------------


def test_a_deleted_or_replaced_vm_is_named():
    history = provisioned()
    history.request(at(5))
    history.vm(uid="vm-uid", event="DELETED")
    only(invariants.vm_identity_violations(history), "was deleted at")
    assert "§7.7" in invariants.first_violation(history)

    history = provisioned()
    history.request(at(5))
    history.vm(uid="other-vm")
    only(invariants.vm_identity_violations(history), "uid vm-uid… became other-vm…")


def test_the_vm_may_go_once_the_instance_is_being_deleted():
    history = provisioned()
    history.note(ActionKind.DELETE)
    history.vm(event="DELETED")
    assert invariants.vm_identity_violations(history) == []


def test_a_vm_spec_changed_during_a_restart_is_named_with_the_path():
    history = provisioned()
    history.request(at(5))
    history.vm(template={"metadata": {"annotations": {"restarted": "now"}}}, event="MODIFIED")
    violation = only(invariants.vm_spec_violations(history), "spec changed")
    assert "spec.template" in violation and "§7.7" in violation


def test_the_run_state_may_change_only_after_the_harness_changed_it():
    history = provisioned()
    history.request(at(5))
    history.vm(run_strategy="Halted", event="MODIFIED")
    only(invariants.vm_spec_violations(history), "run state changed")

    history = provisioned()
    history.note(ActionKind.RUN_STRATEGY, "runStrategy=Halted")
    history.vm(run_strategy="Halted", event="MODIFIED")
    assert invariants.vm_spec_violations(history) == []


def test_a_changed_or_dropped_vm_reference_is_named():
    history = provisioned()
    history.request(at(5))
    history.cr_state(status={"virtualMachineReference": None})
    only(invariants.reference_violations(history), "to <none>")


def test_a_vmi_deleted_without_a_cause_is_named():
    history = provisioned()
    history.delete_vmi(OLD)
    only(invariants.vmi_deletion_violations(history), "though nothing asked for it")

    history = provisioned()
    history.note(ActionKind.DELETE_VMI)
    history.delete_vmi(OLD)
    assert invariants.vmi_deletion_violations(history) == []


def test_two_vmis_deleted_for_one_restart_are_named():
    history = provisioned()
    history.request(at(5))
    history.conditions(in_progress(OSAC, at(5)))
    history.delete_vmi(OLD)
    history.vmi(NEW, created=at(4))
    history.delete_vmi(NEW)
    history.vmi(NEWER, created=at(7))
    history.cr_state(status={"lastRestartedAt": at(5), "conditions": []})
    only(invariants.vmi_deletion_violations(history), "deleted 2 VMIs")


def test_a_second_deletion_the_harness_made_is_not_the_operators():
    history = provisioned()
    history.request(at(5))
    history.delete_vmi(OLD)
    history.vmi(NEW, created=at(4))
    history.note(ActionKind.DELETE_VMI)
    history.delete_vmi(NEW)
    history.vmi(NEWER, created=at(7))
    history.cr_state(status={"lastRestartedAt": at(5)})
    assert invariants.vmi_deletion_violations(history) == []


def test_an_unrequested_instance_showing_a_restart_is_named():
    history = provisioned()
    history.conditions(in_progress(OSAC, at(5)))
    only(invariants.unrequested_restart_violations(history), "no restart of it was requested")


# --- the phase (§9.3) ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", [OSAC, CLOUDKIT], ids=lambda p: p.name)
def test_an_unexplained_failed_phase_is_named(profile):
    history = provisioned(profile)
    history.request(at(5))
    history.cr_state(status={"phase": profile.phases.failed})
    violation = only(invariants.phase_violations(history), "no failure to explain it")
    assert "§9.3" in violation


def test_a_failed_phase_with_a_failure_to_explain_it_is_not_named():
    with_condition = provisioned()
    with_condition.request(at(5))
    with_condition.cr_state(status={"phase": "Failed"})
    with_condition.conditions(failed(OSAC, "VMIDeletionFailed", "Failed to delete VMI: x"))
    with_condition.cr_state(status={"phase": "Failed", "conditions": []})
    assert len(invariants.phase_violations(with_condition)) == 1  # the first state only

    explained = provisioned()
    explained.conditions(failed(OSAC, "VMIDeletionFailed", "Failed to delete VMI: x"))
    explained.cr_state(status={"phase": "Failed"})
    assert invariants.phase_violations(explained) == []

    job = provisioned()
    job.cr_state(status={"phase": "Failed", "jobs": [{"type": "provision", "state": "Failed"}]})
    assert invariants.phase_violations(job) == []

    vm = provisioned()
    vm.vm(printable="CrashLoopBackOff", event="MODIFIED")
    vm.cr_state(status={"phase": "Failed"})
    assert invariants.phase_violations(vm) == []


def test_the_apis_failed_state_needs_a_failed_cr():
    history = provisioned()
    answer = ApiAnswer(history.id, "COMPUTE_INSTANCE_STATE_FAILED", {})
    history.timeline.record_call(ApiCall("Get", 0.0, 0.1, "OK", "id", (answer,)))
    only(invariants.phase_violations(history), "the API's Get answered state")


# --- observedGeneration (§5) ---------------------------------------------------------------


def test_a_missing_or_stale_observed_generation_is_named():
    history = provisioned()
    history.request(at(5))
    history.conditions({**in_progress(OSAC, at(5)), "observedGeneration": None})
    only(invariants.generation_violations(history), "observedGeneration None")

    history = provisioned()
    history.request(at(5))
    history.conditions({**in_progress(OSAC, at(5)), "observedGeneration": 1})
    only(invariants.generation_violations(history), "observedGeneration 1 at")


def test_a_write_that_lands_after_a_newer_spec_may_carry_the_generation_it_read():
    history = provisioned()
    history.request(at(5))
    read = history.generation
    history.cr_state(spec={"restartRequestedAt": at(6)})
    history.conditions({**in_progress(OSAC, at(5)), "observedGeneration": read})
    assert invariants.generation_violations(history) == []
