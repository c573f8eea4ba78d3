"""The mutant gallery: each mutant deviates from the reference in exactly its documented way.

Every deviation is shown over the pure restart logic (or the reconciler over in-memory ports):
the same input gives the contract's outcome with the reference and the broken one with the
mutant. The registry itself is checked too: names, docstrings, and that each intended killer
is a real suite test.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.contract.profiles import OSAC
from harness.reference.component_client import ApiError
from harness.reference.controller import mutants
from harness.reference.controller.conditions import find_condition
from harness.reference.controller.mutants import MUTANTS, UnknownMutantError, select
from harness.reference.controller.reconciler import Reconciler
from harness.reference.controller.restart import REFERENCE, RestartAlgorithm, RestartDecision
from tests.controller.fakes import FakeVmis, vmi
from tests.controller.test_reconciler import (
    HUB,
    P,
    deleting,
    instance,
    setup,
    stored,
)
from tests.controller.test_restart import KEY, ci

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
REQUEST = "2026-03-01T10:00:00Z"
OLD_VMI = "2026-03-01T09:00:00Z"
NEW_VMI = "2026-03-01T10:00:07Z"


def algorithm(name):
    return select(name).restart


def cond(obj, ctype):
    return find_condition(obj["status"], ctype)


def completed_by(algo, request=REQUEST, created=NEW_VMI, **kwargs):
    """A restart in progress, checked against a VMI created at `created`."""
    obj = ci(request=request, in_progress=True, **kwargs)
    algo.handle_restart(obj, OSAC, FakeVmis({KEY: vmi(created)}), NOW)
    return obj


def performed_by(algo, vmis=None, **kwargs):
    obj = ci(**{"request": REQUEST, **kwargs})
    vmis = vmis if vmis is not None else FakeVmis({KEY: vmi(OLD_VMI)})
    algo.handle_restart(obj, OSAC, vmis, NOW)
    return obj, vmis


# --- the registry ----------------------------------------------------------------------------


def test_the_gallery_has_at_least_twelve_mutants_each_documented():
    assert len(MUTANTS) >= 12
    for name, entry in MUTANTS.items():
        assert entry.name == name
        assert entry.deviation and entry.breaks.startswith("§"), entry
        assert entry.killed_by.startswith("suites/test_") and "::test_" in entry.killed_by
        assert (entry.restart is not REFERENCE) != (entry.reconciler_class is not Reconciler), (
            f"{name} must override exactly one of the restart algorithm or the reconciler"
        )


def _suite_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_intended_killer_is_a_real_suite_test(name):
    path, _, function = MUTANTS[name].killed_by.partition("::")
    assert (REPO / path).is_file(), f"{name}: no {path}"
    assert function in _suite_tests(REPO / path), f"{name}: no {function} in {path}"


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_overrides_exactly_one_method(name):
    entry = MUTANTS[name]
    cls = type(entry.restart) if entry.restart is not REFERENCE else entry.reconciler_class
    base = RestartAlgorithm if entry.restart is not REFERENCE else Reconciler
    assert cls.__bases__ == (base,)
    overridden = [key for key, value in vars(cls).items() if callable(value)]
    assert len(overridden) == 1, f"{name} overrides {overridden}"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownMutantError) as raised:
        select("bogus")
    assert str(raised.value).startswith("unknown mutant 'bogus'; known: ")
    assert "records-vmi-time" in str(raised.value)


def test_a_docstring_without_its_killer_is_refused():
    with pytest.raises(TypeError, match="Killed by"):

        @mutants.mutant("undocumented")
        class Undocumented(RestartAlgorithm):
            """Does something wrong.

            Breaks: §7.4
            """


def _controller(*args):
    return subprocess.run(
        [sys.executable, "-m", "harness.reference.controller", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_controller_refuses_an_unknown_mutant_with_one_line_and_exit_2(tmp_path):
    result = _controller(
        "--kubeconfig", str(tmp_path / "none"), "--profile", "osac", "--mutant", "x"
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("controller: error: unknown mutant 'x'; known: ")
    assert "keeps-failed" in lines[0]


def test_controller_lists_its_mutants_as_json():
    result = _controller("--list-mutants")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [entry["name"] for entry in listed] == sorted(MUTANTS)
    assert set(listed[0]) == {"name", "deviation", "breaks", "killed_by"}


# --- §7.4 completion -------------------------------------------------------------------------


def test_reference_completes_with_the_request_and_removes_both_conditions():
    obj = completed_by(REFERENCE, failed=True)
    assert obj["status"]["lastRestartedAt"] == REQUEST
    assert cond(obj, "RestartInProgress") is None and cond(obj, "RestartFailed") is None


def test_no_last_restarted_at_removes_the_conditions_but_records_nothing():
    obj = completed_by(algorithm("no-last-restarted-at"))
    assert "lastRestartedAt" not in obj["status"]
    assert cond(obj, "RestartInProgress") is None


def test_records_vmi_time_copies_the_vmi_creation_time():
    obj = completed_by(algorithm("records-vmi-time"))
    assert obj["status"]["lastRestartedAt"] == NEW_VMI


def test_records_now_copies_the_wall_clock():
    obj = completed_by(algorithm("records-now"))
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T10:00:30Z"


def test_keeps_in_progress_records_but_leaves_restart_in_progress():
    obj = completed_by(algorithm("keeps-in-progress"), failed=True)
    assert obj["status"]["lastRestartedAt"] == REQUEST
    assert cond(obj, "RestartInProgress")["status"] == "True"
    assert cond(obj, "RestartFailed") is None


def test_completes_same_second_accepts_a_vmi_of_the_requested_second():
    assert "lastRestartedAt" not in completed_by(REFERENCE, created=REQUEST)["status"]
    obj = completed_by(algorithm("completes-same-second"), created=REQUEST)
    assert obj["status"]["lastRestartedAt"] == REQUEST
    assert not algorithm("completes-same-second").restart_completed(REQUEST, vmi(OLD_VMI))


def test_redeletes_in_progress_deletes_a_vmi_older_than_the_request_again():
    future = "2026-03-01T10:05:00Z"
    for algo, deletions in ((REFERENCE, []), (algorithm("redeletes-in-progress"), [KEY])):
        obj = ci(request=future, in_progress=True)
        vmis = FakeVmis({KEY: vmi(NEW_VMI)})  # the replacement, older than the request
        assert algo.handle_restart(obj, OSAC, vmis, NOW) is RestartDecision.CHECK_COMPLETION
        assert vmis.deleted == deletions
        assert cond(obj, "RestartInProgress")["status"] == "True"
    # A VMI newer than the request completes the restart and is left alone.
    obj = completed_by(algorithm("redeletes-in-progress"))
    assert obj["status"]["lastRestartedAt"] == REQUEST


# --- §7.2 decision ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "request_at", "reference", "mutant"),
    [
        ("restarts-stale", "2026-02-01T00:00:00Z", "ALREADY_HANDLED", "PERFORM"),
        ("restarts-stale", REQUEST, "ALREADY_HANDLED", "ALREADY_HANDLED"),
        ("restarts-equal", REQUEST, "ALREADY_HANDLED", "PERFORM"),
        ("restarts-equal", "2026-02-01T00:00:00Z", "ALREADY_HANDLED", "ALREADY_HANDLED"),
    ],
)
def test_decision_on_a_request_not_after_the_last_restart(name, request_at, reference, mutant):
    obj = ci(request=request_at, last=REQUEST)
    assert REFERENCE.decide(obj, OSAC) is RestartDecision[reference]
    assert algorithm(name).decide(obj, OSAC) is RestartDecision[mutant]


def test_compares_wall_clock_ignores_a_request_older_than_a_minute():
    past = "2026-03-01T09:50:00Z"
    _obj, vmis = performed_by(REFERENCE, request=past)
    assert vmis.deleted == [KEY]
    obj, vmis = performed_by(algorithm("compares-wall-clock"), request=past)
    assert vmis.deleted == [] and cond(obj, "RestartInProgress") is None
    _obj, vmis = performed_by(algorithm("compares-wall-clock"), request=REQUEST)
    assert vmis.deleted == [KEY]  # 30 s ago: still acted on


# --- §7.3 perform restart --------------------------------------------------------------------


def test_records_without_delete_writes_the_request_and_deletes_nothing():
    obj, vmis = performed_by(algorithm("records-without-delete"))
    assert vmis.deleted == []
    assert obj["status"]["lastRestartedAt"] == REQUEST
    assert cond(obj, "RestartInProgress") is None


def refused_vmis():
    vmis = FakeVmis({KEY: vmi(OLD_VMI)})
    vmis.delete_error = ApiError(403, 'virtualmachineinstances.kubevirt.io "vm-1" is forbidden')
    return vmis


def test_ignores_refused_deletion_reports_in_progress_without_restart_failed():
    obj = ci(request=REQUEST)
    with pytest.raises(ApiError):
        REFERENCE.handle_restart(obj, OSAC, refused_vmis(), NOW)
    assert cond(obj, "RestartFailed")["reason"] == "VMIDeletionFailed"
    assert cond(obj, "RestartInProgress") is None
    obj, vmis = performed_by(algorithm("ignores-refused-deletion"), vmis=refused_vmis())
    assert vmis.deleted == [] and cond(obj, "RestartFailed") is None
    assert cond(obj, "RestartInProgress")["status"] == "True"


def test_acts_once_per_request_never_repeats_a_restart_whose_status_write_was_lost():
    for algo, again in (
        (RestartAlgorithm(), RestartDecision.PERFORM),
        (type(algorithm("acts-once-per-request"))(), RestartDecision.ALREADY_HANDLED),
    ):
        lost = ci(request=REQUEST)  # the pass deleted the VMI; its status write is lost
        lost["metadata"]["uid"] = "cr-1"
        assert algo.handle_restart(lost, OSAC, FakeVmis({KEY: vmi(OLD_VMI)}), NOW) is (
            RestartDecision.PERFORM
        )
        reread = ci(request=REQUEST)
        reread["metadata"]["uid"] = "cr-1"
        vmis = FakeVmis({KEY: vmi(NEW_VMI)})
        assert algo.handle_restart(reread, OSAC, vmis, NOW) is again


def test_failed_on_success_sets_restart_failed_after_deleting():
    obj, vmis = performed_by(REFERENCE, failed=True)
    assert vmis.deleted == [KEY] and cond(obj, "RestartFailed") is None
    obj, vmis = performed_by(algorithm("failed-on-success"))
    assert vmis.deleted == [KEY]
    assert cond(obj, "RestartInProgress")["status"] == "True"
    failed = cond(obj, "RestartFailed")
    assert (failed["status"], failed["reason"]) == ("True", "VMIDeletionFailed")


def test_halted_fails_sets_restart_failed_instead_of_waiting_for_a_vmi():
    obj, _ = performed_by(REFERENCE, vmis=FakeVmis())
    assert cond(obj, "RestartInProgress")["message"].startswith("Waiting for VMI to be created")
    obj, _ = performed_by(algorithm("halted-fails"), vmis=FakeVmis())
    assert cond(obj, "RestartInProgress") is None
    failed = cond(obj, "RestartFailed")
    assert (failed["status"], failed["reason"]) == ("True", "VMIDeletionFailed")
    assert "not found" in failed["message"]


def test_keeps_failed_never_removes_restart_failed():
    algo = algorithm("keeps-failed")
    obj, vmis = performed_by(algo, failed=True)
    assert vmis.deleted == [KEY] and cond(obj, "RestartFailed")["status"] == "True"
    obj = completed_by(algo, failed=True)
    assert obj["status"]["lastRestartedAt"] == REQUEST
    assert cond(obj, "RestartInProgress") is None
    assert cond(obj, "RestartFailed")["status"] == "True"
    obj = ci(failed=True)  # no request at all
    algo.handle_restart(obj, OSAC, FakeVmis(), NOW)
    assert cond(obj, "RestartFailed") is not None


# --- §5, §7.3 vocabulary ---------------------------------------------------------------------


def test_wrong_in_progress_reason():
    obj, _ = performed_by(algorithm("wrong-in-progress-reason"))
    progress = cond(obj, "RestartInProgress")
    assert progress["reason"] == "Restarting"
    assert progress["message"] == f"Restart initiated at {REQUEST}"


def test_wrong_failed_reason():
    obj, _ = performed_by(algorithm("wrong-failed-reason"), reference=False)
    failed = cond(obj, "RestartFailed")
    assert (failed["reason"], failed["message"]) == (
        "VMNotFound",
        "No VirtualMachine reference found",
    )


def test_python_time_in_message():
    obj, _ = performed_by(algorithm("python-time-in-message"))
    assert cond(obj, "RestartInProgress")["message"] == (
        "Restart initiated at 2026-03-01 10:00:00+00:00"
    )
    obj, _ = performed_by(algorithm("python-time-in-message"), vmis=FakeVmis())
    assert cond(obj, "RestartInProgress")["message"] == (
        "Waiting for VMI to be created (restart requested at 2026-03-01 10:00:00+00:00)"
    )


# --- the reconciler: §6 and §9.5 -------------------------------------------------------------


def _reconciler(name, profile=OSAC, ci_obj=None):
    cluster, provider, reference = setup(profile=profile, ci=ci_obj)
    cls = select(name).reconciler_class
    mutant = cls(profile, cluster, profile.hub_namespace, provider, poll_interval=30)
    return cluster, provider, reference, mutant


def test_restarts_unmanaged_reconciles_and_restarts_an_unmanaged_instance():
    obj = instance(management_state="unmanaged")
    obj["spec"]["restartRequestedAt"] = REQUEST
    cluster, _provider, reference, mutant = _reconciler("restarts-unmanaged", ci_obj=obj)
    reference.reconcile(HUB, "vm-1")
    assert cluster.deleted == [] and cluster.status_writes == []
    mutant.reconcile(HUB, "vm-1")
    assert cluster.deleted == [KEY]
    assert cond(stored(cluster), "RestartInProgress")["status"] == "True"


def test_drops_finalizer_early_removes_its_finalizer_without_deprovisioning():
    cluster, provider, _reference, mutant = _reconciler("drops-finalizer-early")
    deleting(cluster, finalizers=[P + "computeinstance", P + "computeinstance-aap"])
    mutant.reconcile(HUB, "vm-1")
    assert provider.deprovisions == []
    assert stored(cluster)["metadata"]["finalizers"] == [P + "computeinstance-aap"]


def test_the_reference_keeps_its_finalizer_until_deprovisioned():
    cluster, provider, reference = setup()
    deleting(cluster, finalizers=[P + "computeinstance", P + "computeinstance-aap"])
    reference.reconcile(HUB, "vm-1")
    assert provider.deprovisions == ["vm-1"]
    assert P + "computeinstance" in stored(cluster)["metadata"]["finalizers"]


# --- §7.7 what a restart leaves alone --------------------------------------------------------

OTHER = ("tenant-harness", "vm-2")


def _two_instances():
    return FakeVmis({KEY: vmi(OLD_VMI), OTHER: vmi(OLD_VMI, name="vm-2")})


def test_the_reference_deletes_only_the_referenced_vmi_and_never_touches_the_vm():
    _obj, vmis = performed_by(REFERENCE, vmis=_two_instances())
    assert vmis.deleted == [KEY]
    assert vmis.deleted_vms == [] and vmis.vm_patches == []


def test_deletes_the_vm_deletes_the_virtual_machine_instead():
    obj, vmis = performed_by(algorithm("deletes-the-vm"))
    assert vmis.deleted == [] and vmis.deleted_vms == [KEY]
    assert cond(obj, "RestartInProgress")["status"] == "True"


def test_deletes_every_vmi_deletes_the_other_instances_vmi_too():
    _obj, vmis = performed_by(algorithm("deletes-every-vmi"), vmis=_two_instances())
    assert sorted(vmis.deleted) == [KEY, OTHER]


def test_stamps_the_vm_patches_the_vm_template_then_deletes_the_vmi():
    _obj, vmis = performed_by(algorithm("stamps-the-vm"))
    assert vmis.deleted == [KEY]
    [(namespace, name, patch)] = vmis.vm_patches
    assert (namespace, name) == KEY
    assert patch["spec"]["template"]["metadata"]["annotations"]


def test_drops_vm_reference_removes_the_reference_when_it_deletes():
    obj, vmis = performed_by(REFERENCE)
    assert obj["status"]["virtualMachineReference"]
    obj, vmis = performed_by(algorithm("drops-vm-reference"))
    assert vmis.deleted == [KEY] and "virtualMachineReference" not in obj["status"]


# --- §9.3 and §5 -----------------------------------------------------------------------------


def test_failed_phase_during_restart_reports_failed_while_in_progress():
    obj = instance()
    obj["spec"]["restartRequestedAt"] = REQUEST
    cluster, _provider, reference, mutant = _reconciler("failed-phase-during-restart", ci_obj=obj)
    reference.reconcile(HUB, "vm-1")
    assert stored(cluster)["status"]["phase"] == "Running"
    mutant.reconcile(HUB, "vm-1")
    assert cond(stored(cluster), "RestartInProgress")["status"] == "True"
    assert stored(cluster)["status"]["phase"] == "Failed"


@pytest.mark.parametrize(
    ("name", "written"),
    [(None, 4), ("omits-observed-generation", None), ("stale-observed-generation", 3)],
)
def test_observed_generation_of_the_restart_conditions(name, written):
    algo = REFERENCE if name is None else algorithm(name)
    obj, _ = performed_by(algo)  # the CR's generation is 4
    assert cond(obj, "RestartInProgress").get("observedGeneration") == written
    obj, _ = performed_by(algo, reference=False)
    assert cond(obj, "RestartFailed").get("observedGeneration") == written


# --- §7.2 step 1 a withdrawn request ---------------------------------------------------------


def withdrawn_by(algo, **kwargs):
    obj = ci(**kwargs)  # no request
    vmis = FakeVmis({KEY: vmi(NEW_VMI)})
    assert algo.handle_restart(obj, OSAC, vmis, NOW) is RestartDecision.CLEAR
    return obj, vmis


def test_withdrawal_ignored_leaves_both_conditions():
    obj, _ = withdrawn_by(REFERENCE, in_progress=True, failed=True)
    assert cond(obj, "RestartInProgress") is None and cond(obj, "RestartFailed") is None
    obj, _ = withdrawn_by(algorithm("withdrawal-ignored"), in_progress=True, failed=True)
    assert cond(obj, "RestartInProgress")["status"] == "True"
    assert cond(obj, "RestartFailed")["status"] == "True"


def test_withdrawal_sets_false_keeps_the_conditions_set_false():
    obj, _ = withdrawn_by(algorithm("withdrawal-sets-false"), in_progress=True, failed=True)
    assert cond(obj, "RestartInProgress")["status"] == "False"
    assert cond(obj, "RestartFailed")["status"] == "False"
    obj, _ = withdrawn_by(algorithm("withdrawal-sets-false"))
    assert obj["status"]["conditions"] == []  # none created where there were none


def test_restarts_withdrawn_request_completes_the_request_it_remembered():
    algo = type(algorithm("restarts-withdrawn-request"))()  # a fresh memory
    first = ci(request=REQUEST)
    first["metadata"]["uid"] = "cr-1"
    algo.handle_restart(first, OSAC, FakeVmis({KEY: vmi(OLD_VMI)}), NOW)
    assert cond(first, "RestartInProgress")["status"] == "True"
    withdrawn = ci(in_progress=True)
    withdrawn["metadata"]["uid"] = "cr-1"
    withdrawn["status"]["conditions"] = first["status"]["conditions"]
    algo.handle_restart(withdrawn, OSAC, FakeVmis({KEY: vmi(NEW_VMI)}), NOW)
    assert withdrawn["status"]["lastRestartedAt"] == REQUEST
    assert "restartRequestedAt" not in withdrawn["spec"]
