from datetime import UTC, datetime

import pytest

from harness.reference.kubevirt import lifecycle as lc

NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def vm(**spec):
    return {
        "metadata": {"name": "vm-1", "namespace": "t", "uid": "vm-uid", "generation": 3},
        "spec": {
            **spec,
            "template": {
                "metadata": {"labels": {"osac.openshift.io/computeinstance": "vm-1"}},
                "spec": {"domain": {"cpu": {"cores": 2}}},
            },
        },
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"runStrategy": "Always"}, True),
        ({"runStrategy": "RerunOnFailure"}, True),
        ({"runStrategy": "Halted"}, False),
        ({"runStrategy": "Manual"}, False),
        ({"running": True}, True),
        ({"running": False}, False),
        ({}, False),
    ],
)
def test_wants_running(spec, expected):
    assert lc.wants_running(vm(**spec)) is expected


def test_new_vmi_is_owned_by_the_vm_and_built_from_its_template():
    vmi = lc.new_vmi(vm(runStrategy="Always"))
    meta = vmi["metadata"]
    assert (meta["name"], meta["namespace"]) == ("vm-1", "t")
    assert meta["labels"] == {"osac.openshift.io/computeinstance": "vm-1"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "name": "vm-1",
            "uid": "vm-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "foregroundDeleteVirtualMachine" in meta["finalizers"]
    assert "uid" not in meta and "creationTimestamp" not in meta
    assert vmi["spec"] == {"domain": {"cpu": {"cores": 2}}}
    assert vmi["status"]["phase"] == "Pending"
    assert lc.owner_uid(vmi) == "vm-uid"


def test_boot_phases_spread_over_the_delay():
    assert [lc.boot_phase(t, 0.3) for t in (0, 0.11, 0.21, 0.3, 5)] == [
        "Pending",
        "Scheduling",
        "Scheduled",
        "Running",
        "Running",
    ]
    assert lc.boot_phase(0, 0) == "Running"
    assert lc.next_boot_step(0.0, 0.3) == pytest.approx(0.1)
    assert lc.next_boot_step(0.25, 0.3) == pytest.approx(0.05)
    assert lc.next_boot_step(0.3, 0.3) is None


def test_running_vmi_status_has_ip_node_and_ready():
    vmi = {"metadata": {"name": "vm-1", "uid": "u"}, "status": {"phase": "Scheduled"}}
    status = lc.vmi_status(vmi, "Running", NOW)
    assert status["phase"] == "Running"
    assert status["nodeName"] == lc.NODE_NAME
    assert status["interfaces"][0]["ipAddress"].startswith("10.")
    assert status["conditions"][0]["type"] == "Ready"
    assert status["conditions"][0]["status"] == "True"
    assert lc.vmi_ready({**vmi, "status": status})


def test_deleting_vmi_is_not_ready():
    vmi = {"metadata": {"name": "v", "deletionTimestamp": "2026-03-01T10:00:00Z"}, "status": {}}
    status = lc.vmi_status(vmi, "Running", NOW)
    assert status["conditions"][0]["reason"] == lc.REASON_POD_TERMINATING
    assert not lc.vmi_ready({**vmi, "status": status})


def running_vmi(**meta):
    vmi = {"metadata": {"name": "vm-1", "uid": "u", **meta}}
    vmi["status"] = lc.vmi_status(vmi, "Running", NOW)
    return vmi


@pytest.mark.parametrize(
    ("the_vm", "the_vmi", "printable", "ready", "created"),
    [
        (vm(runStrategy="Always"), None, "Provisioning", False, False),
        (vm(runStrategy="Halted"), None, "Stopped", False, False),
        (vm(runStrategy="Always"), {"metadata": {}, "status": {"phase": "Pending"}}, "Starting",
         False, True),
        (vm(runStrategy="Always"), running_vmi(), "Running", True, True),
        (vm(runStrategy="Always"), running_vmi(deletionTimestamp="x"), "Stopping", False, True),
        (vm(runStrategy="Halted"), running_vmi(deletionTimestamp="x"), "Stopping", False, True),
    ],
)  # fmt: skip
def test_vm_status(the_vm, the_vmi, printable, ready, created):
    status = lc.vm_status(the_vm, the_vmi, NOW)
    assert status["printableStatus"] == printable
    assert status.get("ready", False) is ready
    assert status.get("created", False) is created
    ready_condition = status["conditions"][0]
    assert ready_condition["type"] == "Ready"
    assert ready_condition["status"] == ("True" if ready else "False")
    assert status["observedGeneration"] == 3


def test_vm_without_vmi_after_having_run_is_starting_not_provisioning():
    the_vm = vm(runStrategy="Always")
    the_vm["status"] = {"printableStatus": "Stopping"}
    assert lc.vm_status(the_vm, None, NOW)["printableStatus"] == "Starting"


def test_condition_transition_time_is_kept_while_status_is_unchanged():
    the_vm = vm(runStrategy="Always")
    first = lc.vm_status(the_vm, running_vmi(), NOW)
    the_vm["status"] = first
    later = datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC)
    assert lc.vm_status(the_vm, running_vmi(), later) == first


def test_status_merge_patch_nulls_removed_keys():
    assert lc.status_merge_patch({"ready": True, "a": 1}, {"a": 2}) == {"a": 2, "ready": None}


def test_replacement_waits_for_the_next_second_after_the_deletion():
    deleted = datetime(2026, 3, 1, 10, 0, 0, 900000, tzinfo=UTC)
    earliest = lc.earliest_creation(deleted)
    assert earliest > datetime(2026, 3, 1, 10, 0, 1, tzinfo=UTC)
    assert earliest < datetime(2026, 3, 1, 10, 0, 1, 100000, tzinfo=UTC)
    # A request made at or before the deletion (whole seconds) is strictly older than any
    # creationTimestamp the API server can assign at or after `earliest`.
    request = deleted.replace(microsecond=0)
    assert earliest.replace(microsecond=0) > request


def test_deletion_time_prefers_the_deletion_timestamp():
    vmi = {"metadata": {"deletionTimestamp": "2026-03-01T10:00:00Z"}}
    observed = datetime(2026, 3, 1, 10, 0, 3, tzinfo=UTC)
    assert lc.deletion_time(vmi, observed) == datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
    assert lc.deletion_time({"metadata": {}}, observed) == observed
