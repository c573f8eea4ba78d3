"""A disk that refuses the results ends the run with exit 20 and one line, and leaves a complete
summary.json (a smaller one when the whole does not fit) and no half-written file.

The disk refuses through RLIMIT_FSIZE on the run's process tree, with SIGXFSZ ignored: a write
past the limit fails with EFBIG, the same OSError from write() that a full disk (ENOSPC) or a
read-only one (EROFS) gives. Unlike a read-only directory it binds root too (CI containers often
run as root, whom permissions do not stop), and it refuses exactly the larger files, so one run
shows both what the disk took and what it refused, through every writer of the layout: the
harness's own (timelines, diagnostics, metrics, summary), pytest's JUnit file and allure's. The
stack runs outside the limit (`--target cluster`): its logs are not the results.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reference.stack import StackOptions, launch
from harness.runner.summary import read_summary
from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
# Fits the small files (marker, environment.json, an abridged summary), not a timeline.
LIMIT = 1500

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory):
    stack = launch(StackOptions(state_dir=tmp_path_factory.mktemp("disk-stack")))
    env = stack.start()
    yield env
    stack.stop()


def limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def harness_run(results: Path, limit: int, env: dict[str, str], *args: str):
    clean = without_harness_settings()
    clean.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", "--results-dir", str(results), *args],
        env={**clean, **env},
        cwd=REPO,
        capture_output=True,  # pipes: the limit binds files only
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limited(limit),
    )


def test_a_disk_refusing_the_larger_results_is_exit_20_with_a_smaller_summary(stack_env, tmp_path):
    results = tmp_path / "results"
    run = harness_run(
        results, LIMIT, stack_env, "--target", "cluster", "--workers", "2", "-k", "baseline"
    )
    output = run.stdout + run.stderr
    assert run.returncode == 20, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    [line] = [line for line in run.stderr.splitlines() if "the disk refused" in line]
    assert line.startswith("environment not ready: ") and "File too large" in line, line

    summary = read_summary(results / "summary.json")  # complete: it parses, schema and all
    assert (summary["verdict"], summary["exit_code"]) == ("environment-not-ready", 20)
    assert "abridged" in summary, "the whole summary does not fit under the limit"
    assert summary["counts"]["passed"] == summary["counts"]["total"] >= 1, summary
    assert {test["outcome"] for test in summary["tests"]} == {"passed"}, summary
    assert summary["lost"], summary
    assert {item["reason"] for item in summary["lost"]} == {"File too large"}, summary

    files = [path for path in results.rglob("*") if path.is_file()]
    assert not [path for path in files if path.name.endswith(".tmp")], "half-written files"
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())  # whole, or not there at all
        if path.suffix == ".jsonl":
            [json.loads(line) for line in path.read_text().splitlines()]
    assert not list((results / "timeline").glob("*.jsonl")), "a timeline is larger than the limit"


def test_a_disk_refusing_everything_is_exit_20_with_one_line(stack_env, tmp_path):
    run = harness_run(tmp_path / "results", 0, stack_env, "--target", "cluster", "-k", "baseline")
    assert run.returncode == 20, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith("harness run: environment not ready: "), line
    assert "File too large" in line, line
