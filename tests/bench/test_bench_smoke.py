"""Every benchmark script still runs end to end, with tiny parameters, and writes its JSON.

Not a performance test: nothing here is timed or compared with a goal; it only keeps the
scripts under bench/ from rotting as the code they measure changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESTART_NOW = "suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request"

CASES = {
    "detection_latency": (["--events", "5"], ["summary", "samples"]),
    "control_plane": (["--repeats", "1"], ["medians", "build"]),
    "apiserver_throughput": (
        [
            "--sizes",
            "100",
            "--ops",
            "40",
            "--official-ops",
            "10",
            "--clients",
            "1",
            "--watchers",
            "2",
            "--writes",
            "3",
            "--startup-repeats",
            "1",
        ],
        ["phases", "delivery", "startup", "echo", "goals"],
    ),
    "fullstack_scale": (["--sizes", "1"], ["results", "goal"]),
    "stack_startup": (["--repeats", "1"], ["medians"]),
    "suite_walltime": (["--skip-suite", "--overhead-runs", "1"], ["overhead_median"]),
    "soak": (["--runs", "1", "--busy-runs", "0", "--tests", RESTART_NOW], ["summary", "runs"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_and_writes_its_results(script, tmp_path):
    args, keys = CASES[script]
    out = tmp_path / f"{script}.json"
    extra = ["--flake-dir", str(tmp_path / "flakes")] if script == "soak" else []
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{script}.py"), *args, *extra, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["benchmark"] == script
    assert results["machine"]["nproc"] >= 1
    for key in keys:
        assert key in results, f"{script}: {key} missing from {sorted(results)}"
    assert "wrote" in completed.stdout


@pytest.mark.slow
def test_a_soak_out_of_time_stops_starting_runs_and_keeps_what_it_did(tmp_path):
    """--budget-minutes: the budget (0.6 s) is spent by the first run, so the second is never
    started; the JSON says why the phase ended and holds the run that was made."""
    out = tmp_path / "soak.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "soak.py"),
            *("--runs", "3", "--busy-runs", "0", "--budget-minutes", "0.01"),
            *("--tests", RESTART_NOW, "--flake-dir", str(tmp_path / "flakes"), "--out", str(out)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [run["run"] for run in results["runs"]] == [1]
    assert results["runs"][0]["tests"] == 1
    assert results["status"] == "finished"
    assert results["phases_ended"]["quiet"].startswith("time budget of 0 min spent after 1 runs")
    assert "quiet phase ended early" in completed.stdout
