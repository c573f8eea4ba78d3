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
