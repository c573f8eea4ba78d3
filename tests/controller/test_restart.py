"""Every row of contract §7.2-7.4 and §7.6 that needs no I/O, over plain dicts."""

from datetime import UTC, datetime

import pytest

from harness.contract.profiles import CLOUDKIT, OSAC
from harness.reference.component_client import ApiError, NotFoundError
from harness.reference.controller.conditions import find_condition, set_condition
from harness.reference.controller.restart import (
    RestartDecision,
    decide,
    handle_restart,
    restart_completed,
)
from tests.controller.fakes import FakeVmis, vmi

NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
REF = {"namespace": "tenant-harness", "kubeVirtVirtualMachineName": "vm-1"}
KEY = ("tenant-harness", "vm-1")


def ci(request=None, last=None, in_progress=False, failed=False, reference=True, generation=4):
    status: dict = {"conditions": []}
    if reference:
        status["virtualMachineReference"] = dict(REF)
    if last:
        status["lastRestartedAt"] = last
    if in_progress:
        set_condition(status, "RestartInProgress", "True", "RestartInProgress", "old", NOW, 3)
    if failed:
        set_condition(status, "RestartFailed", "True", "NoVMReference", "old", NOW, 3)
    spec = {"templateID": "t"}
    if request:
        spec["restartRequestedAt"] = request
    return {"metadata": {"name": "vm-1", "generation": generation}, "spec": spec, "status": status}


def condition(obj, ctype):
    return find_condition(obj["status"], ctype)


# §7.2 decision order


def test_no_request_removes_both_conditions():
    obj = ci(in_progress=True, failed=True)
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    assert handle_restart(obj, OSAC, vmis, NOW) is RestartDecision.CLEAR
    assert condition(obj, "RestartInProgress") is None
    assert condition(obj, "RestartFailed") is None
    assert vmis.deleted == []


def test_in_progress_only_checks_completion_and_never_deletes():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True)
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    assert handle_restart(obj, OSAC, vmis, NOW) is RestartDecision.CHECK_COMPLETION
    assert vmis.deleted == []
    assert condition(obj, "RestartInProgress")["status"] == "True"
    assert "lastRestartedAt" not in obj["status"]


@pytest.mark.parametrize("request_at", ["2026-03-01T10:00:00Z", "2026-02-01T00:00:00Z"])
def test_request_not_after_last_restart_is_ignored(request_at):
    obj = ci(request=request_at, last="2026-03-01T10:00:00Z", failed=True)
    before = dict(obj["status"])
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    assert handle_restart(obj, OSAC, vmis, NOW) is RestartDecision.ALREADY_HANDLED
    assert obj["status"] == before
    assert vmis.deleted == []


@pytest.mark.parametrize("last", [None, "2026-03-01T09:59:59Z"])
def test_new_request_deletes_the_vmi(last):
    obj = ci(request="2026-03-01T10:00:00Z", last=last, failed=True)
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    assert decide(obj, OSAC) is RestartDecision.PERFORM
    handle_restart(obj, OSAC, vmis, NOW)
    assert vmis.deleted == [KEY]
    progress = condition(obj, "RestartInProgress")
    assert progress["status"] == "True"
    assert progress["reason"] == "RestartInProgress"
    assert progress["message"] == "Restart initiated at 2026-03-01T10:00:00Z"
    assert progress["observedGeneration"] == 4
    assert condition(obj, "RestartFailed") is None
    assert obj["status"].get("lastRestartedAt") == last


def test_past_request_newer_than_last_is_treated_as_new():
    obj = ci(request="2020-01-01T00:00:00Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    handle_restart(obj, OSAC, vmis, NOW)
    assert vmis.deleted == [KEY]
    # The recreated VMI is newer than the past request: completes at the next pass.
    vmis.vmis[KEY] = vmi("2026-03-01T10:00:01Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["lastRestartedAt"] == "2020-01-01T00:00:00Z"


# §7.3 perform restart


def test_no_vm_reference_sets_restart_failed():
    obj = ci(request="2026-03-01T10:00:00Z", reference=False)
    handle_restart(obj, OSAC, FakeVmis(), NOW)
    failed = condition(obj, "RestartFailed")
    assert (failed["status"], failed["reason"], failed["message"]) == (
        "True",
        "NoVMReference",
        "No VirtualMachine reference found",
    )
    assert failed["observedGeneration"] == 4
    assert condition(obj, "RestartInProgress") is None


def test_missing_vmi_waits_for_it_and_leaves_restart_failed_alone():
    obj = ci(request="2026-03-01T10:00:00.9Z", failed=True)
    vmis = FakeVmis()
    handle_restart(obj, OSAC, vmis, NOW)
    progress = condition(obj, "RestartInProgress")
    assert progress["message"] == (
        "Waiting for VMI to be created (restart requested at 2026-03-01T10:00:00Z)"
    )
    assert condition(obj, "RestartFailed")["reason"] == "NoVMReference"
    assert vmis.deleted == []


def test_get_error_propagates_without_conditions():
    obj = ci(request="2026-03-01T10:00:00Z")
    vmis = FakeVmis()
    vmis.get_error = ApiError(500, "etcd unavailable")
    with pytest.raises(ApiError):
        handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["conditions"] == []


def test_delete_error_sets_restart_failed_then_propagates():
    obj = ci(request="2026-03-01T10:00:00Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    message = (
        'virtualmachineinstances.kubevirt.io "vm-1" is forbidden: User "x" cannot delete '
        'resource "virtualmachineinstances"'
    )
    vmis.delete_error = ApiError(403, message)
    with pytest.raises(ApiError):
        handle_restart(obj, OSAC, vmis, NOW)
    failed = condition(obj, "RestartFailed")
    assert failed["reason"] == "VMIDeletionFailed"
    assert failed["message"] == f"Failed to delete VMI: {message}"
    assert condition(obj, "RestartInProgress") is None


def test_delete_not_found_counts_as_deleted():
    obj = ci(request="2026-03-01T10:00:00Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    vmis.delete_error = NotFoundError(404, "gone")
    handle_restart(obj, OSAC, vmis, NOW)
    assert condition(obj, "RestartInProgress")["message"].startswith("Restart initiated at")


# §7.4 completion


def test_completion_copies_the_request_and_removes_both_conditions():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True, failed=True)
    vmis = FakeVmis({KEY: vmi("2026-03-01T10:00:01Z")})
    handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T10:00:00Z"
    assert condition(obj, "RestartInProgress") is None
    assert condition(obj, "RestartFailed") is None


def test_same_second_vmi_never_completes():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True)
    vmis = FakeVmis({KEY: vmi("2026-03-01T10:00:00Z")})
    for _ in range(3):
        handle_restart(obj, OSAC, vmis, NOW)
    assert "lastRestartedAt" not in obj["status"]
    assert condition(obj, "RestartInProgress")["status"] == "True"


def test_completion_waits_while_the_vmi_is_missing():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True)
    handle_restart(obj, OSAC, FakeVmis(), NOW)
    assert condition(obj, "RestartInProgress")["status"] == "True"


def test_completion_without_reference_does_nothing():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True, reference=False)
    handle_restart(obj, OSAC, FakeVmis(), NOW)
    assert condition(obj, "RestartInProgress")["status"] == "True"


def test_completion_get_error_propagates():
    obj = ci(request="2026-03-01T10:00:00Z", in_progress=True)
    vmis = FakeVmis()
    vmis.get_error = ApiError(500, "boom")
    with pytest.raises(ApiError):
        handle_restart(obj, OSAC, vmis, NOW)


def test_future_request_stays_in_progress_until_a_newer_vmi():
    obj = ci(request="2026-03-01T11:00:00Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    handle_restart(obj, OSAC, vmis, NOW)
    assert vmis.deleted == [KEY]
    vmis.vmis[KEY] = vmi("2026-03-01T10:00:02Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert "lastRestartedAt" not in obj["status"]
    vmis.vmis[KEY] = vmi("2026-03-01T11:00:01Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T11:00:00Z"


def test_second_request_during_restart_is_compared_with_the_current_spec_value():
    obj = ci(request="2026-03-01T10:00:00Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    handle_restart(obj, OSAC, vmis, NOW)
    obj["spec"]["restartRequestedAt"] = "2026-03-01T10:00:05Z"
    vmis.vmis[KEY] = vmi("2026-03-01T10:00:02Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert vmis.deleted == [KEY]  # no second deletion
    assert "lastRestartedAt" not in obj["status"]  # recreated VMI older than the new value
    vmis.vmis[KEY] = vmi("2026-03-01T10:00:06Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T10:00:05Z"


def test_fractional_request_restarts_on_every_pass():
    obj = ci(request="2026-03-01T10:00:00.5Z")
    vmis = FakeVmis({KEY: vmi("2026-03-01T09:00:00Z")})
    handle_restart(obj, OSAC, vmis, NOW)
    vmis.vmis[KEY] = vmi("2026-03-01T10:00:01Z")
    handle_restart(obj, OSAC, vmis, NOW)
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T10:00:00Z"
    # The stored request is still "after" the truncated copy: another restart begins.
    assert decide(obj, OSAC) is RestartDecision.PERFORM
    handle_restart(obj, OSAC, vmis, NOW)
    assert vmis.deleted == [KEY, KEY]


def test_offset_request_is_copied_as_utc_whole_seconds():
    obj = ci(request="2026-03-01T12:00:00+02:00", in_progress=True)
    handle_restart(obj, OSAC, FakeVmis({KEY: vmi("2026-03-01T10:00:01Z")}), NOW)
    assert obj["status"]["lastRestartedAt"] == "2026-03-01T10:00:00Z"


def test_restart_completed_is_strict():
    assert restart_completed("2026-03-01T10:00:00Z", vmi("2026-03-01T10:00:01Z"))
    assert not restart_completed("2026-03-01T10:00:00Z", vmi("2026-03-01T10:00:00Z"))
    assert not restart_completed("2026-03-01T10:00:00Z", {"metadata": {}})


def test_profile_a_uses_the_same_vocabulary():
    obj = ci(request="2026-03-01T10:00:00Z", reference=False)
    handle_restart(obj, CLOUDKIT, FakeVmis(), NOW)
    assert condition(obj, "RestartFailed")["reason"] == "NoVMReference"
