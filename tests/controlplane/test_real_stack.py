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
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


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

        def kubectl(*args: str) -> str:
            result = subprocess.run(
                ["kubectl", *args], capture_output=True, text=True, env=env, timeout=60, check=False
            )
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
        kubectl("create", "serviceaccount", "admin", "-n", "osac-computeinstance")
        token = kubectl("create", "token", "admin", "-n", "osac-computeinstance").strip()
        assert token.count(".") == 2
        assert kubectl("auth", "can-i", "list", "computeinstances", "-A").strip() == "yes"
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
