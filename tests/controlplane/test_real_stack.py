"""`python -m harness up --control-plane real`: the reference stack on a real control plane,
used with the kubeconfig it writes, as a person would with kubectl."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
HUB = "osac-computeinstance"
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


# (component, verb, resource, namespace or "-A", allowed): what each component's own
# ServiceAccount may do, and a sample of what it may not.
ACCESS = [
    ("controller", "update", "computeinstances.osac.openshift.io", HUB, True),
    ("controller", "update", "computeinstances.osac.openshift.io/status", HUB, True),
    ("controller", "delete", "virtualmachineinstances.kubevirt.io", "-A", True),
    ("controller", "create", "virtualmachineinstances.kubevirt.io", "-A", False),
    ("controller", "create", "computeinstances.osac.openshift.io", HUB, False),
    ("controller", "get", "secrets", HUB, False),
    ("controller", "update", "computeinstances.osac.openshift.io", "default", False),
    ("kubevirt", "create", "virtualmachineinstances.kubevirt.io", "-A", True),
    ("kubevirt", "patch", "virtualmachines.kubevirt.io/status", "-A", True),
    ("kubevirt", "update", "virtualmachines.kubevirt.io", "-A", False),
    ("kubevirt", "get", "computeinstances.osac.openshift.io", HUB, False),
    ("fulfillment", "create", "computeinstances.osac.openshift.io", HUB, True),
    ("fulfillment", "patch", "computeinstances.osac.openshift.io/status", HUB, False),
    ("fulfillment", "delete", "virtualmachines.kubevirt.io", "-A", False),
]
ACCOUNTS = {
    "controller": "system:serviceaccount:osac-operator-system:controller-manager",
    "kubevirt": "system:serviceaccount:kubevirt:kubevirt-controller",
    "fulfillment": f"system:serviceaccount:{HUB}:fulfillment-controller",
}


def assert_components_have_their_own_least_privilege(state: Path, kubectl) -> None:
    """Each component's kubeconfig holds a TokenRequest token of its own ServiceAccount (the
    server says who it is), and that account may do its work and nothing else."""
    for component, account in ACCOUNTS.items():
        config = str(state / f"{component}.kubeconfig")
        whoami = json.loads(kubectl("--kubeconfig", config, "auth", "whoami", "-o", "json"))
        assert whoami["status"]["userInfo"]["username"] == account
        assert "system:serviceaccounts" in whoami["status"]["userInfo"]["groups"]
        assert kubectl("--kubeconfig", config, "auth", "can-i", "*", "*", "-A", check=False) == "no"
    for component, verb, resource, namespace, allowed in ACCESS:
        where = ["-A"] if namespace == "-A" else ["-n", namespace]
        kind, _, subresource = resource.partition("/")
        if subresource:
            where.append(f"--subresource={subresource}")
        config = str(state / f"{component}.kubeconfig")
        answer = kubectl("--kubeconfig", config, "auth", "can-i", verb, kind, *where, check=False)
        assert answer == ("yes" if allowed else "no"), (component, verb, resource, namespace)


def test_harness_up_on_a_real_control_plane_answers_kubectl_and_stops_cleanly(tmp_path):
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness", "up"),
            *("--control-plane", "real", "--state-dir", str(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=without_harness_settings(),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("READY "), (tmp_path / "logs" / "stack.log").read_text()[-3000:]
        ready = json.loads(line[len("READY ") :])
        assert ready["control_plane"] == "real"
        env = {**os.environ, "KUBECONFIG": ready["kubeconfig"]}

        def kubectl(*args: str, check: bool = True) -> str:
            result = subprocess.run(
                ["kubectl", *args], capture_output=True, text=True, env=env, timeout=60, check=False
            )
            if not check:  # `auth can-i` answers "no" with exit code 1
                return result.stdout.strip()
            assert result.returncode == 0, result.stderr
            return result.stdout

        assert "kwok-node-0" in kubectl("get", "nodes")
        kubectl("get", "computeinstances", "-A")  # served (no instance yet)
        crds = kubectl("get", "crd", "-o", "name")
        assert "computeinstances.osac.openshift.io" in crds
        assert "virtualmachineinstances.kubevirt.io" in crds
        tenant = json.loads(
            kubectl("get", "tenants", "-n", "osac-computeinstance", "tenant-harness", "-o", "json")
        )
        assert tenant["status"]["phase"] == "Ready"
        # The operator's Deployment runs a pod on the kwok node, as on a cluster.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pods = json.loads(kubectl("get", "pods", "-A", "-o", "json"))["items"]
            if any(p["status"].get("phase") == "Running" for p in pods):
                break
            time.sleep(0.5)
        assert any(p["status"].get("phase") == "Running" for p in pods), pods
        # The fulfillment API's admin caller is the stack's, as a cluster's installation has it.
        kubectl("get", "serviceaccount", "admin", "-n", "osac-computeinstance")
        token = kubectl("create", "token", "admin", "-n", "osac-computeinstance").strip()
        assert token.count(".") == 2
        assert kubectl("auth", "can-i", "list", "computeinstances", "-A").strip() == "yes"
        assert_components_have_their_own_least_privilege(tmp_path, kubectl)
        pids = json.loads((tmp_path / "controlplane" / "control-plane.json").read_text())["pids"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [name for name, pid in pids.items() if alive(pid)]
