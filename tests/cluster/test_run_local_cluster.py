"""`run-local.sh --target cluster` against the embedded stack standing in for a cluster (its
API address given, as a port-forward would provide it): the doctor runs, then the suites,
and the results layout is left behind. Without a token it mints one (TokenRequest) and the
doctor stops the run when the environment is not ready."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness.doctor.checks import CHECKS
from harness.reference.stack import StackOptions, launch
from tests.environ import drop_harness_settings, without_harness_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("run-local-stack")
    running = launch(StackOptions(state_dir=state))
    env = running.start()
    yield state, env
    running.stop()


def run_local(args, env, timeout=300):
    clean = without_harness_settings()
    return subprocess.run(
        ["./run-local.sh", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_doctor_then_suites_against_a_running_stack(stack, tmp_path):
    _, env = stack
    results = tmp_path / "results"
    run = run_local(
        [
            "--target",
            "cluster",
            "--results-dir",
            str(results),
            "-k",
            "test_instance_created_runs_with_a_running_vmi",
        ],
        env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "run-local: doctor:" in run.stderr
    assert "environment ready" in run.stdout
    doctor = json.loads((results / "doctor.json").read_text())
    assert doctor["ready"] is True and len(doctor["checks"]) == len(CHECKS)
    assert "1 passed" in run.stdout


def test_without_a_token_one_is_minted_and_the_doctor_stops_an_unready_run(stack, tmp_path):
    state, env = stack
    api = k8s_config.new_client_from_config(config_file=env["KUBECONFIG"])
    k8s.CoreV1Api(api).create_namespaced_service_account(
        env["HARNESS_NAMESPACE"], {"metadata": {"name": "tester"}}
    )
    without_token = {
        k: v for k, v in env.items() if k not in ("HARNESS_API_TOKEN", "HARNESS_ADMIN_TOKEN")
    }
    results = tmp_path / "results"
    run = run_local(
        [
            "--target",
            "cluster",
            "--results-dir",
            str(results),
            "--api-namespace",
            env["HARNESS_NAMESPACE"],
            "--token-service-account",
            "tester",
            "-k",
            "test_instance_created_runs_with_a_running_vmi",
        ],
        without_token,
    )
    assert (
        f"minted a 60 min token for service account {env['HARNESS_NAMESPACE']}/tester" in run.stderr
    )
    # The embedded fulfillment API knows only its own tokens: the doctor says so and stops.
    assert run.returncode == 20, run.stdout[-2000:] + run.stderr[-2000:]
    doctor = json.loads((results / "doctor.json").read_text())
    finding = next(c for c in doctor["checks"] if c["id"] == "api.reachable")
    assert finding["verdict"] == "fail" and "rejected the token" in finding["evidence"]
    assert "not running the suites" in run.stderr
    requests = (state / "logs" / "apiserver-requests.jsonl").read_text().splitlines()
    minted = [json.loads(line) for line in requests if '"subresource":"token"' in line]
    assert minted and minted[-1]["status"] == 201 and minted[-1]["name"] == "tester"


def test_bad_input_is_one_line_and_exit_4(stack, monkeypatch, capsys):
    from harness.commands import cluster_run as clusterrun

    _, env = stack
    drop_harness_settings(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert clusterrun.main(["--target", "cluster", "--token-duration", "5s"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 10m" in err
    monkeypatch.delenv("HARNESS_API_ADDRESS")
    assert clusterrun.main(["--target", "cluster"]) == 4
    assert "--api-namespace" in capsys.readouterr().err
