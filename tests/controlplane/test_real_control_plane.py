"""A real control plane as a program: READY, then kubectl works against it as against a cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
kubectl_missing = pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(state: Path) -> tuple[subprocess.Popen[str], dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.reference.controlplane", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=(state / "stderr.log").open("w"),
        text=True,
        cwd=REPO,
    )
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        pytest.fail((state / "stderr.log").read_text()[-3000:])
    return process, {"process": process, "state": state, **json.loads(line[len("READY ") :])}


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    process, plane = start(tmp_path_factory.mktemp("real"))
    try:
        yield plane
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def kubectl(plane, *args, check=True):
    env = {**os.environ, "KUBECONFIG": plane["kubeconfig"]}
    result = subprocess.run(
        ["kubectl", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@kubectl_missing
def test_nodes_pods_tokens_and_access_reviews_work_with_kubectl(control_plane):
    nodes = kubectl(control_plane, "get", "nodes", "-o", "json")
    (node,) = json.loads(nodes.stdout)["items"]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True"

    kubectl(control_plane, "create", "namespace", "work")
    kubectl(control_plane, "-n", "work", "create", "deployment", "web", "--image=example")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = json.loads(kubectl(control_plane, "-n", "work", "get", "pods", "-o", "json").stdout)
        phases = [pod.get("status", {}).get("phase") for pod in pods["items"]]
        if phases == ["Running"]:
            break
        time.sleep(0.5)
    assert phases == ["Running"], pods
    assert pods["items"][0]["spec"]["nodeName"] == node["metadata"]["name"]

    kubectl(control_plane, "-n", "work", "create", "serviceaccount", "admin")
    token = kubectl(control_plane, "-n", "work", "create", "token", "admin").stdout.strip()
    assert token.count(".") == 2
    assert kubectl(control_plane, "auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    as_account = ["--as", "system:serviceaccount:work:admin"]
    denied = kubectl(control_plane, "auth", "can-i", "delete", "nodes", *as_account, check=False)
    assert denied.stdout.strip() == "no"


@kubectl_missing
def test_each_node_heartbeats_through_its_lease_as_a_kubelet_does(control_plane):
    """The node lifecycle controller reads node health from the Lease in kube-node-lease; one
    never renewed turns the node NotReady after its grace period, and with it every pod."""
    (node,) = json.loads(kubectl(control_plane, "get", "nodes", "-o", "json").stdout)["items"]
    name = node["metadata"]["name"]

    def renewed() -> str | None:
        leases = kubectl(control_plane, "-n", "kube-node-lease", "get", "leases", "-o", "json")
        by_name = {item["metadata"]["name"]: item for item in json.loads(leases.stdout)["items"]}
        return by_name.get(name, {}).get("spec", {}).get("renewTime")

    first = renewed()
    deadline = time.monotonic() + 60
    while (first is None or renewed() == first) and time.monotonic() < deadline:
        first = first or renewed()
        time.sleep(1)
    assert first is not None, f"no Lease {name} in kube-node-lease"
    assert renewed() != first, f"the Lease of {name} is never renewed"


def test_requests_without_credentials_are_refused(control_plane):
    context = ssl.create_default_context(cafile=str(control_plane["state"] / "pki" / "ca.crt"))
    request = urllib.request.Request(control_plane["url"] + "/api/v1/namespaces")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert refused.value.code in (401, 403)


def test_sigterm_stops_every_process(tmp_path):
    process, plane = start(tmp_path)
    pids = json.loads((plane["state"] / "control-plane.json").read_text())["pids"]
    assert set(pids) == {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    }
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [name for name, pid in pids.items() if alive(pid)]


def test_bad_input_and_a_missing_build_are_one_line(tmp_path):
    env = {**os.environ, "HARNESS_CONTROL_PLANE_CACHE": str(tmp_path / "empty")}
    for args, words in (
        (["--state-dir", str(tmp_path), "--nodes", "0"], "--nodes"),
        (["--state-dir", str(tmp_path)], "python -m harness build-control-plane"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "harness.reference.controlplane", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("controlplane: error:") and words in lines[0]
