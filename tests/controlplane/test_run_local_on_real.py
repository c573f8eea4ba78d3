"""The reference stack on a real control plane, reached as a developer reaches a cluster.

- The fulfillment API is a workload: Deployment and Service `fulfillment-api` (port 8000), whose
  kwok-simulated pod forwards to the local gRPC server; through `kubectl port-forward` it takes
  TokenRequest tokens, checked by TokenReview, and refuses a non-admin's private call naming
  the subject and the AuthConfig's admins. The operator pod's log is the controller's.
- `./run-local.sh --target cluster`, unmodified, with the stack's kubeconfig as the current
  context: it mints a token for `admin`, supervises `kubectl port-forward`, runs the doctor and
  every suite, all green, while the port-forward is killed mid-run and comes back on the same
  local port.
- A failing test's diagnostics hold the operator's log lines read through `pods/log` and the
  instance's virt-launcher pods on its timeline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harness.commands.port_forward import PortForward, kubectl_command
from harness.contract.profiles import OSAC
from harness.contract.wire import load_wire
from harness.reference.stack import TENANT, StackOptions, launch
from tests.controlplane.job_on_real import PACE
from tests.controlplane.pod_on_host import Kubectl, wait_for
from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
HUB = OSAC.hub_namespace
ADMINS = [
    f"system:serviceaccount:{HUB}:admin",
    f"system:serviceaccount:{OSAC.operator_namespace}:controller-manager",
]
FORWARDING = re.compile(r"run-local: port-forward: 127\.0\.0\.1:(\d+) \(pid (\d+)\)")
# A test made to fail right after its restart request, so its diagnostics read what they read.
FAILING = (
    *("-k", "test_restart_now_replaces_the_vmi_and_records_the_request"),
    *("--restart-timeout", "0.1"),
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("real-workloads")
    running = launch(StackOptions(state_dir=state, control_plane="real"))
    env = running.start()
    yield state, env, Kubectl(Path(env["KUBECONFIG"]))
    running.stop()


def call(method, request, token: str) -> grpc.RpcError | None:
    try:
        method(request, metadata=[("authorization", f"Bearer {token}")], timeout=30)
    except grpc.RpcError as error:
        return error
    return None


def test_the_fulfillment_api_is_a_workload_that_checks_tokens_with_token_review(stack, tmp_path):
    state, env, kubectl = stack
    service = kubectl.json("get", "service", "fulfillment-api", "-n", HUB)
    assert service["spec"]["ports"] == [
        {"name": "api", "port": 8000, "protocol": "TCP", "targetPort": "api"}
    ]
    (pod,) = kubectl.json("get", "pods", "-n", HUB, "-l", "app=fulfillment-api")["items"]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["serviceAccountName"] == "fulfillment-controller"
    for component, verb, resource in (
        ("fulfillment", "create", "tokenreviews.authentication.k8s.io"),
        ("kubevirt", "create", "pods"),
        ("kubevirt", "delete", "pods"),
    ):
        as_component = Kubectl(state / f"{component}.kubeconfig")
        allowed = as_component("auth", "can-i", verb, resource, "-A", check=False)
        assert allowed.startswith("yes"), (component, verb, resource, allowed)

    kubectl("create", "serviceaccount", "outsider", "-n", HUB)
    admin, user, outsider = (
        kubectl("create", "token", name, "-n", namespace).strip()
        for name, namespace in (("admin", HUB), ("e2e", TENANT), ("outsider", HUB))
    )
    forward = PortForward(
        kubectl_command(HUB, "svc/fulfillment-api", 8000, env["KUBECONFIG"]), lambda _: None
    )
    address = forward.start()
    try:
        credentials = grpc.ssl_channel_credentials(Path(env["HARNESS_API_CA"]).read_bytes())
        with grpc.secure_channel(address, credentials) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            answer = health.Check(health_pb2.HealthCheckRequest(), timeout=30)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            wire = load_wire(OSAC)
            public = wire.grpc.ComputeInstancesStub(channel).List
            private = wire.private_grpc.ComputeInstancesStub(channel).List
            public_list = wire.service.ComputeInstancesListRequest()
            private_list = wire.private_service.ComputeInstancesListRequest()
            # TokenRequest tokens: minted here, and the stack's own.
            for token in (admin, env["HARNESS_ADMIN_TOKEN"]):
                assert call(private, private_list, token) is None
            for token in (user, outsider, env["HARNESS_API_TOKEN"]):
                assert call(public, public_list, token) is None
            for subject, token in (
                (f"system:serviceaccount:{TENANT}:e2e", user),
                (f"system:serviceaccount:{HUB}:outsider", outsider),
            ):
                error = call(private, private_list, token)
                assert error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED
                assert error.details() == (
                    f"subject '{subject}' may not call /{OSAC.grpc.private_service}/List: the "
                    f"private API is for administrators only, and '{subject}' is not one of its "
                    f"admin subjects ({', '.join(ADMINS)})"
                )
            error = call(public, public_list, admin + "x")
            assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error.details() == "invalid token: not known to this server (TokenReview)"
    finally:
        forward.stop()
    # The admins it enforces are the AuthConfig's, which the doctor reads.
    rego = kubectl.json("get", "authconfig", "fulfillment-service", "-n", HUB)["spec"]
    rules = rego["authorization"]["admins-only-for-private-methods"]["opa"]["rego"]
    assert f"admins := {json.dumps(sorted(ADMINS))}" in rules

    operator = f"deploy/{OSAC.operator_deployment}"
    log = kubectl("logs", "-n", OSAC.operator_namespace, operator, "--timestamps")
    assert f"watching computeinstances.{OSAC.group} in {HUB}" in log, log[-2000:]


def run_local(env: dict[str, str], results: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *("./run-local.sh", "--target", "cluster", "--api-namespace", HUB),
            *("--results-dir", str(results), *args),
        ],
        cwd=REPO,
        env={**without_harness_settings(), "KUBECONFIG": env["KUBECONFIG"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: kubectl port-forward and pytest's workers too
    )


class Output:
    """A child's output, read as it comes; waits on what it says."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait(self, pattern: re.Pattern[str], count: int = 1, timeout: float = 300) -> list:
        def found() -> list:
            return [m for m in map(pattern.search, self.lines) if m]

        with self._changed:
            self._changed.wait_for(lambda: len(found()) >= count, timeout)
            matches = found()
        assert len(matches) >= count, "\n".join(self.lines[-60:])
        return matches

    @property
    def text(self) -> str:
        self._thread.join(30)
        return "\n".join(self.lines)


def finish(process: subprocess.Popen[str], timeout: float = 900) -> int:
    try:
        return process.wait(timeout)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[str]) -> None:
    """A run-local still running (a failed test): it and what is left of its process group
    (its port-forward, pytest's workers) are stopped."""
    if process.poll() is not None:
        return  # it ended on its own, its port-forward with it
    process.send_signal(signal.SIGINT)  # run-local stops its port-forward on the way out
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def test_run_local_runs_every_suite_through_a_port_forward_killed_mid_run(stack, tmp_path):
    _state, env, kubectl = stack
    results = tmp_path / "results"
    process = run_local(env, results, *PACE)
    output = Output(process)
    try:
        (first,) = output.wait(FORWARDING)
        port, pid = first.group(1), int(first.group(2))
        output.wait(re.compile(r"run-local: run: "))
        # Mid-run: a test has made its instance.
        wait_for(
            "a ComputeInstance of the run",
            lambda: kubectl.json("get", "computeinstances", "-n", HUB)["items"],
            timeout=300,
        )
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        output.wait(re.compile(rf"port-forward: exited with code -9; restarting on port {port}$"))
        second = output.wait(FORWARDING, count=2)[1]
        assert second.group(1) == port and int(second.group(2)) != pid
        code = finish(process)
    finally:
        stop_group(process)
    text = output.text
    assert code == 0, text[-6000:]
    assert f"minted a 60 min token for service account {HUB}/admin" in text
    assert "environment ready" in text
    summary = json.loads((results / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["failed"] == counts["error"] == 0 and counts["passed"] > 0, counts
    skipped = [t for t in summary["tests"] if t["outcome"] == "skipped"]
    assert all(t.get("reason") for t in skipped), skipped
    # The run went on through the new forward: API calls answered after the kill.
    answered_after = [
        row
        for path in (results / "timeline").glob("*.jsonl")
        for row in map(json.loads, path.read_text().splitlines())
        if row["kind"] == "ApiCall" and row["time"] > killed_at + 1 and row["code"] == "OK"
    ]
    assert answered_after, "no fulfillment API call was answered after the port-forward died"


def test_a_failing_tests_diagnostics_hold_operator_log_lines_and_launcher_pods(stack, tmp_path):
    _state, env, _kubectl = stack
    results = tmp_path / "results"
    process = run_local(env, results, *PACE, *FAILING)
    output = Output(process)
    code = finish(process, timeout=600)
    assert code == 1, output.text[-6000:]
    (folder,) = (results / "diagnostics").iterdir()
    timeline = (folder / "timeline.txt").read_text()
    assert re.search(r"ADDED\s+Pod\s+\d+\s+Pod virt-launcher-vm-", timeline), timeline
    logs = folder / "logs"
    # Read through the API (pods/log), not from the controller's file.
    assert not (logs / "controller.log").exists()
    (operator_log,) = logs.glob(f"{OSAC.operator_deployment}-*.log")
    lines = [line for line in operator_log.read_text().splitlines() if " controller " in line]
    assert lines, operator_log.read_text()
    readme = (folder / "README.txt").read_text()
    instance = re.search(r"CR (\S+)\)", readme)
    assert instance and any(instance.group(1) in line for line in lines), (readme, lines)
    assert yaml.safe_load((folder / "events.yaml").read_text()) is not None
