"""A component of the embedded stack dying mid-run is the environment, never the system under
test: the run stops at once, names the component with the last lines of its log, exits 20, and
the tests that finished before keep their verdicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.reference.stack import StackOptions, launch

from .test_run_ownership import clean_env

REPO = Path(__file__).resolve().parents[2]
# Long enough that a run which only noticed the death through its tests' timeouts would
# outlast the bound below many times over.
TIMEOUTS = ["--provision-timeout", "600", "--restart-timeout", "600"]
ENDS_WITHIN = 90.0


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def component_pid(state: Path, component: str) -> int | None:
    for stack in sorted(state.glob("**/stack.json")):
        pid = json.loads(stack.read_text())["pids"].get(component)
        if pid:
            return int(pid)
    return None


@pytest.mark.slow
@pytest.mark.parametrize("component", ["apiserver", "controller", "kubevirt", "fulfillment"])
def test_a_component_killed_mid_run_ends_the_run_as_environment(component, tmp_path):
    state, results = tmp_path / "state", tmp_path / "results"
    run = subprocess.Popen(
        [
            sys.executable, "-m", "harness", "run", "--workers", "2",
            "--state-dir", str(state), "--results-dir", str(results), *TIMEOUTS,
        ],
        env=clean_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # A few tests have finished (their timelines are written) before the component dies.
        wait_for(
            lambda: len(list((results / "timeline").glob("*.jsonl"))) >= 3,
            120,
            "three finished tests",
        )
        pid = wait_for(lambda: component_pid(state, component), 10, f"the {component}'s pid")
        os.kill(pid, signal.SIGKILL)
        output, _ = run.communicate(timeout=ENDS_WITHIN)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 20, output[-4000:]
    named = f"the embedded stack's {component} exited with code -9 mid-run"
    assert named in output, output[-4000:]
    assert f"Last lines of {state}" in output, output[-4000:]
    summary = json.loads((results / "summary.json").read_text())
    assert summary["verdict"] == "environment-not-ready", summary
    assert named in summary["message"], summary["message"]
    outcomes = [test["outcome"] for test in summary["tests"]]
    assert outcomes.count("passed") >= 2, outcomes
    if component != "fulfillment":
        # A gRPC call may fail in the instant before the run is stopped; nothing else may.
        assert "failed" not in outcomes and "error" not in outcomes, summary["tests"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("component", "how", "named"),
    [
        ("apiserver", signal.SIGKILL, "the Kubernetes API at"),
        # Killed, it would take the whole `harness up` stack with it; frozen, it hangs as a
        # stuck server does.
        ("fulfillment", signal.SIGSTOP, "the fulfillment API at"),
    ],
)
def test_a_cluster_api_lost_mid_run_ends_the_run_as_environment(component, how, named, tmp_path):
    """Against a cluster the harness did not start (here: `harness up`, reached as a cluster),
    an API that stops answering is found by asking it, and named with the cause."""
    stack = launch(StackOptions(state_dir=tmp_path / "stack"))
    env = stack.start()
    results = tmp_path / "results"
    pid: int | None = None
    try:
        run = subprocess.Popen(
            [
                sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "suites",
                "--target", "cluster", "--results-dir", str(results), *TIMEOUTS,
            ],
            env={**clean_env(), **env},
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(
                lambda: len(list((results / "timeline").glob("*.jsonl"))) >= 2,
                120,
                "two finished tests",
            )
            pid = component_pid(tmp_path / "stack", component)
            assert pid is not None
            os.kill(pid, how)
            output, _ = run.communicate(timeout=ENDS_WITHIN)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    finally:
        if pid is not None and how == signal.SIGSTOP:
            os.kill(pid, signal.SIGCONT)
        stack.stop()
    assert run.returncode == 20, output[-4000:]
    summary = json.loads((results / "summary.json").read_text())
    assert summary["verdict"] == "environment-not-ready", summary
    assert summary["message"].startswith(f"environment failed: {named}"), summary["message"]
    assert named in output, output[-4000:]
    outcomes = [test["outcome"] for test in summary["tests"]]
    assert outcomes.count("passed") >= 2, outcomes
