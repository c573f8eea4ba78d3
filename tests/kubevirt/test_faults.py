"""`--fault kubevirt:…`: slow boots, VMIs never recreated, deletions that hang; scoped by VM name
and a seeded rate. The simulator and the embedded API server run as real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.contract.fault_specs import Chance, parse_fault
from harness.contract.profiles import OSAC
from harness.reference.component_client import translated_errors
from harness.reference.kubevirt.vm_faults import KubeVirtFaults
from harness.reference.process import ComponentProcess
from harness.reference.stack import TENANT
from tests.kubevirt.cluster import simulator_stack
from tests.kubevirt.test_simulator_integration import G, V, make_vm, phase, printable, uid

pytestmark = [pytest.mark.slow]
SEED = 5
RATED = "kubevirt:never-recreate,rate=0.5,vms=half-*"
FAULTS = [
    "kubevirt:boot-delay=2s,vms=slow-*",
    "kubevirt:never-recreate,vms=gone-*",
    "kubevirt:hang-deletion,vms=hang-*",
    RATED,
]
VMIS = "virtualmachineinstances"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    workdir: Path = tmp_path_factory.mktemp("kubevirt-faults")
    fault_args = [arg for spec in FAULTS for arg in ("--fault", spec)]
    with simulator_stack(workdir, OSAC, TENANT, *fault_args, "--fault-seed", str(SEED)) as stack:
        yield stack


def _wait_for_log(sim: ComponentProcess, text: str, count: int = 1, timeout: float = 15) -> None:
    """Block until the simulator has logged `text` `count` times (it logs each fault once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sim.log_path.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the simulator never logged {text!r} {count} times:\n{sim.log_tail()}")


def _delete_vmi(api, name: str) -> None:
    with translated_errors():
        api.delete_namespaced_custom_object(G, V, TENANT, VMIS, name)


def _running(vmis, name: str, timeout: float = 15) -> dict:
    return vmis.wait(TENANT, name, lambda o: phase(o) == "Running", timeout, f"{name} Running")


def test_boot_delay_slows_only_the_selected_vms(stack):
    api, vmis = stack["api"], stack["vmis"]
    started = time.monotonic()
    make_vm(api, "slow-a", {"runStrategy": "Always"})
    make_vm(api, "fast-a", {"runStrategy": "Always"})
    _running(vmis, "fast-a")
    fast = time.monotonic() - started
    assert phase(vmis.get(TENANT, "slow-a")) != "Running"
    _running(vmis, "slow-a")
    slow = time.monotonic() - started
    assert slow >= 2.0 > fast, (fast, slow)
    seen = [phase(o) for k, o in vmis.history(TENANT, "slow-a") if k != "DELETED"]
    assert [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p] == [
        "Pending",
        "Scheduling",
        "Scheduled",
        "Running",
    ]


def test_never_recreate_leaves_the_vm_without_a_vmi(stack):
    api, vms, vmis, sim = stack["api"], stack["vms"], stack["vmis"], stack["sim"]
    for name in ("gone-a", "kept-a"):
        make_vm(api, name, {"runStrategy": "Always"})
    old = {name: _running(vmis, name) for name in ("gone-a", "kept-a")}
    for name in old:
        _delete_vmi(api, name)
    replacement = vmis.wait(
        TENANT, "kept-a", lambda o: o is not None and uid(o) != uid(old["kept-a"]), 15, "kept-a"
    )
    assert replacement is not None
    _wait_for_log(sim, f"{TENANT}/gone-a: fault kubevirt:never-recreate,vms=gone-*")
    assert vmis.get(TENANT, "gone-a") is None
    vm = vms.wait(TENANT, "gone-a", lambda o: printable(o) == "Starting", 10, "gone-a Starting")
    assert not vm["status"].get("created")


def test_hang_deletion_keeps_the_finalizers(stack):
    api, vms, vmis, sim = stack["api"], stack["vms"], stack["vmis"], stack["sim"]
    make_vm(api, "hang-a", {"runStrategy": "Always"})
    vmi = _running(vmis, "hang-a")
    _delete_vmi(api, "hang-a")
    _wait_for_log(sim, f"fault kubevirt:hang-deletion,vms=hang-*: VMI {uid(vmi)} keeps")
    vms.wait(TENANT, "hang-a", lambda o: printable(o) == "Stopping", 10, "hang-a Stopping")
    # Ten shutdown delays later it is still there, terminating, with KubeVirt's finalizers.
    assert not vmis.informer.wait_for(lambda: vmis.get(TENANT, "hang-a") is None, 2.0)
    stuck = vmis.get(TENANT, "hang-a")
    assert stuck is not None and uid(stuck) == uid(vmi)
    assert stuck["metadata"]["deletionTimestamp"]
    assert "foregroundDeleteVirtualMachine" in stuck["metadata"]["finalizers"]
    assert stuck["status"]["conditions"][0]["reason"] == "PodTerminating"
    with translated_errors():  # let it go, so the namespace can be cleaned up
        api.patch_namespaced_custom_object(
            G, V, TENANT, VMIS, "hang-a", {"metadata": {"finalizers": None}}
        )


def test_never_recreate_at_a_rate_follows_the_seed(stack):
    api, vmis, sim = stack["api"], stack["vmis"], stack["sim"]
    names = [f"half-{index}" for index in range(8)]
    for name in names:
        make_vm(api, name, {"runStrategy": "Always"})
    old = {name: uid(_running(vmis, name)) for name in names}
    for name in names:
        _delete_vmi(api, name)
    chance = Chance(0.5, f"{SEED}/kubevirt/3/{RATED}")
    refused = sum(chance.fires() for _ in names)  # one draw per VM, whatever the order
    assert 0 < refused < len(names)
    _wait_for_log(sim, f"fault {RATED}: no replacement VMI", count=refused)

    def replaced() -> list[str]:
        return [
            n
            for n in names
            if (vmis.get(TENANT, n) or {}).get("metadata", {}).get("uid") not in (None, old[n])
        ]

    assert vmis.informer.wait_for(lambda: len(replaced()) == len(names) - refused, 15)
    gone = [name for name in names if vmis.get(TENANT, name) is None]
    assert len(gone) == refused
    for name in gone:
        assert f"{TENANT}/{name}: fault {RATED}" in sim.log_path.read_text()


def test_decisions_are_made_once_per_object():
    faults = KubeVirtFaults(
        [parse_fault("kubevirt:boot-delay=5s,rate=0.5,vms=a*|b?"), parse_fault(RATED)], seed=1
    )
    delays = {uid: faults.boot_delay("abc", uid, 0.3) for uid in "0123456789"}
    assert set(delays.values()) == {0.3, 5.0}
    assert all(faults.boot_delay("abc", uid, 0.3) == d for uid, d in delays.items())
    assert faults.boot_delay("bcd", "x", 0.3) == 0.3  # b? does not match bcd
    assert faults.hang_deletion("abc", "0") is None
    assert not KubeVirtFaults().active


def test_a_bad_fault_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.reference.kubevirt",
            "--kubeconfig",
            str(tmp_path / "unused"),
            "--fault",
            "kubevirt:boot-delay=soon",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "kubevirt: error: fault 'kubevirt:boot-delay=soon': 'soon' is not a duration "
        "(e.g. 200ms, 5s)"
    )
