"""The simulated KubeVirt against the embedded API server, both as real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.contract.profiles import OSAC
from harness.contract.timestamps import parse_rfc3339
from harness.reference.component_client import translated_errors
from harness.reference.stack import TENANT
from tests.kubevirt.cluster import simulator_stack

pytestmark = [pytest.mark.slow]
G, V = "kubevirt.io", "v1"
LABEL = "osac.openshift.io/computeinstance"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    workdir: Path = tmp_path_factory.mktemp("kubevirt-sim")
    with simulator_stack(workdir, OSAC, TENANT) as stack:
        yield stack


def make_vm(api, name: str, run: dict) -> dict:
    body = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": TENANT, "labels": {LABEL: name}},
        "spec": {
            **run,
            "template": {
                "metadata": {"labels": {LABEL: name}},
                "spec": {"domain": {"cpu": {"cores": 1}}},
            },
        },
    }
    with translated_errors():
        return api.create_namespaced_custom_object(G, V, TENANT, "virtualmachines", body)


def phase(obj) -> str | None:
    return None if obj is None else (obj.get("status") or {}).get("phase")


def printable(obj) -> str | None:
    return None if obj is None else (obj.get("status") or {}).get("printableStatus")


def uid(obj) -> str:
    return obj["metadata"]["uid"]


def test_running_vm_gets_an_owned_vmi_that_boots(stack):
    api, vms, vmis = stack["api"], stack["vms"], stack["vmis"]
    vm = make_vm(api, "sim-boot", {"runStrategy": "Always"})
    vmi = vmis.wait(TENANT, "sim-boot", lambda o: phase(o) == "Running", 15, "VMI Running")
    meta = vmi["metadata"]
    assert meta["labels"] == {LABEL: "sim-boot"}
    assert meta["ownerReferences"][0]["uid"] == uid(vm)
    assert meta["ownerReferences"][0]["controller"] is True
    assert meta["ownerReferences"][0]["blockOwnerDeletion"] is True
    assert "foregroundDeleteVirtualMachine" in meta["finalizers"]
    assert vmi["spec"] == {"domain": {"cpu": {"cores": 1}}}
    status = vmi["status"]
    assert status["interfaces"][0]["ipAddress"].startswith("10.")
    assert status["nodeName"]
    assert {"type": "Ready", "status": "True"}.items() <= status["conditions"][0].items()
    seen = [phase(obj) for kind, obj in vmis.history(TENANT, "sim-boot") if kind != "DELETED"]
    ordered = [p for i, p in enumerate(seen) if p and (i == 0 or seen[i - 1] != p)]
    assert ordered == ["Pending", "Scheduling", "Scheduled", "Running"]
    vm = vms.wait(TENANT, "sim-boot", lambda o: printable(o) == "Running", 10, "VM Running")
    assert vm["status"]["ready"] is True and vm["status"]["created"] is True
    assert vm["status"]["conditions"][0]["status"] == "True"


def test_deleted_vmi_is_recreated_in_a_later_second(stack):
    api, vms, vmis = stack["api"], stack["vms"], stack["vmis"]
    make_vm(api, "sim-restart", {"runStrategy": "Always"})
    old = vmis.wait(TENANT, "sim-restart", lambda o: phase(o) == "Running", 15, "first VMI")
    # Delete right after a wall-clock second boundary, the worst case for the same-second
    # trap (aligning with the clock, not waiting for the system under test).
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    request = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with translated_errors():
        api.delete_namespaced_custom_object(G, V, TENANT, "virtualmachineinstances", "sim-restart")
    vms.wait(TENANT, "sim-restart", lambda o: printable(o) == "Stopping", 10, "VM Stopping")
    new = vmis.wait(
        TENANT,
        "sim-restart",
        lambda o: o is not None and uid(o) != uid(old) and phase(o) == "Running",
        15,
        "replacement VMI Running",
    )
    created = parse_rfc3339(new["metadata"]["creationTimestamp"])
    assert created > parse_rfc3339(request)
    assert created > parse_rfc3339(old["metadata"]["creationTimestamp"])
    vms.wait(TENANT, "sim-restart", lambda o: printable(o) == "Running", 10, "VM Running again")
    history = [printable(o) for k, o in vms.history(TENANT, "sim-restart") if k != "DELETED"]
    stopping = history.index("Stopping")
    assert "Starting" in history[stopping:]
    kinds = [k for k, o in vmis.history(TENANT, "sim-restart") if uid(o) == uid(old)]
    assert kinds[-1] == "DELETED"


def test_halted_stops_and_always_starts_again(stack):
    api, vms, vmis = stack["api"], stack["vms"], stack["vmis"]
    make_vm(api, "sim-halt", {"runStrategy": "Always"})
    first = vmis.wait(TENANT, "sim-halt", lambda o: phase(o) == "Running", 15, "VMI Running")
    with translated_errors():
        api.patch_namespaced_custom_object(
            G, V, TENANT, "virtualmachines", "sim-halt", {"spec": {"runStrategy": "Halted"}}
        )
    vmis.wait(TENANT, "sim-halt", lambda o: o is None, 10, "VMI gone")
    vm = vms.wait(TENANT, "sim-halt", lambda o: printable(o) == "Stopped", 10, "VM Stopped")
    assert not vm["status"].get("ready")
    assert vm["status"]["conditions"][0]["status"] == "False"
    with translated_errors():
        api.patch_namespaced_custom_object(
            G, V, TENANT, "virtualmachines", "sim-halt", {"spec": {"runStrategy": "Always"}}
        )
    second = vmis.wait(TENANT, "sim-halt", lambda o: phase(o) == "Running", 15, "VMI again")
    assert uid(second) != uid(first)


def test_era_a_running_flag(stack):
    api, vmis = stack["api"], stack["vmis"]
    make_vm(api, "sim-era-a", {"running": True})
    vmis.wait(TENANT, "sim-era-a", lambda o: phase(o) == "Running", 15, "VMI Running")
    with translated_errors():
        api.patch_namespaced_custom_object(
            G, V, TENANT, "virtualmachines", "sim-era-a", {"spec": {"running": False}}
        )
    vmis.wait(TENANT, "sim-era-a", lambda o: o is None, 10, "VMI gone")


def test_deleting_the_vm_removes_the_vmi_and_nothing_recreates_it(stack):
    api, vms, vmis = stack["api"], stack["vms"], stack["vmis"]
    make_vm(api, "sim-delete", {"runStrategy": "Always"})
    vmis.wait(TENANT, "sim-delete", lambda o: phase(o) == "Running", 15, "VMI Running")
    with translated_errors():
        api.delete_namespaced_custom_object(G, V, TENANT, "virtualmachines", "sim-delete")
    vms.wait(TENANT, "sim-delete", lambda o: o is None, 10, "VM gone")
    vmis.wait(TENANT, "sim-delete", lambda o: o is None, 15, "VMI garbage-collected")
    added_after = [
        o
        for k, o in vmis.history(TENANT, "sim-delete")
        if k == "ADDED" and phase(o) in (None, "Pending")
    ]
    assert len(added_after) == 1, "a VMI was created again for a deleted VM"


def test_bad_kubeconfig_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.kubevirt", "--kubeconfig", str(missing)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kubevirt: error: cannot read kubeconfig")
    assert result.stdout == ""
