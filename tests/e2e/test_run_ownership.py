"""What a run owns and gives back: a results directory it locks and never loses, and processes
that do not outlive it, even when it is killed with SIGKILL as a CI cancel does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.ownership import HELD_ENV
from harness.runner.resultsdir import discard_previous, prepare_results_dir
from tests.environ import without_harness_settings

from .test_run_command import alive, descendants

REPO = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    env = without_harness_settings()
    for name in ("PYTEST_XDIST_WORKER", HELD_ENV):
        env.pop(name, None)
    return env


def harness_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", *args],
        env=clean_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def earlier_results(root: Path) -> dict[str, str]:
    layout = prepare_results_dir(root)
    discard_previous(layout)
    layout.summary.write_text('{"verdict": "passed"}')
    layout.timeline_dir.mkdir()
    (layout.timeline_dir / "a.jsonl").write_text("{}\n")
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_arguments_pytest_refuses_keep_the_previous_results(tmp_path):
    root = tmp_path / "results"
    before = earlier_results(root)
    result = harness_run("--results-dir", str(root), "--profile", "nope")
    assert result.returncode == 4, result.stderr
    assert f"kept the results in {root}" in result.stderr
    after = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
    after.pop(".harness-lock", None)
    assert after == before


def test_a_results_dir_in_use_is_refused_naming_its_owner(tmp_path):
    root = tmp_path / "results"
    before = earlier_results(root)
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time; from pathlib import Path; from harness.ownership import hold\n"
            "with hold(Path(sys.argv[1]), 'harness run', 'results dir'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(root),
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        result = harness_run("--results-dir", str(root), "-k", "baseline")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 4, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"results dir {root} is in use by harness run (pid {holder.pid}" in line
    assert (root / "summary.json").read_text() == before["summary.json"]


def _stack_running(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if b"harness.reference.apiserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


@pytest.mark.slow
def test_sigkill_of_harness_run_leaves_no_process_and_nothing_writes_afterwards(tmp_path):
    root = tmp_path / "results"
    run = subprocess.Popen(
        [
            sys.executable, "-m", "harness", "run", "--workers", "2",
            "--results-dir", str(root), "suites/test_restart.py",
        ],
        env=clean_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        processes: list[int] = []
        while time.monotonic() < deadline:
            processes = descendants(run.pid)
            if _stack_running(processes) and len(processes) >= 6:
                break
            time.sleep(0.2)
        assert _stack_running(processes), "the run's stacks never started"
        time.sleep(2)  # the tests under way
        processes = descendants(run.pid)
        run.send_signal(signal.SIGKILL)
        killed = time.time()
        run.wait()
        deadline = time.monotonic() + 10
        while [pid for pid in processes if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in processes if alive(pid)]
        assert not left, f"processes outlived the run: {left}"
        time.sleep(3)
        written = [
            str(p) for p in root.rglob("*") if p.is_file() and p.stat().st_mtime > killed + 0.5
        ]
        assert not written, f"written after the run was killed: {written}"
        assert not (root / "summary.json").exists() or json.loads(
            (root / "summary.json").read_text()
        )
    finally:
        for pid in descendants(run.pid):
            os.kill(pid, signal.SIGKILL)


def test_an_argument_pytest_refuses_is_one_line_naming_it(tmp_path):
    """pytest's four-line usage block becomes the command's one line"""
    result = harness_run("--results-dir", str(tmp_path / "results"), "--no-such-flag")
    assert result.returncode == 4, result.stderr
    assert result.stderr.splitlines() == ["harness run: unrecognized arguments: --no-such-flag"]
