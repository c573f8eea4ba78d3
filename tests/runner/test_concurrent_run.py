"""Suite tests in flight at once (`harness.plugin.concurrent_run`), in a child pytest: they
overlap, and the `exclusive` and `lock` markers keep apart exactly the tests that declare them."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = "tests/runner/concurrent_samples/in_flight.py"


def run_samples(tmp_path: Path, *args: str) -> dict[str, str]:
    """Each sample test's outcome; the samples need no cluster (a kubeconfig is still required)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    junit = tmp_path / "junit.xml"
    command = [
        *("-m", "pytest", "-p", "no:cacheprovider", "-p"),
        "tests.runner.concurrent_samples.as_suites",
        SAMPLES,
        *("--target", "cluster", "--kubeconfig", str(kubeconfig), "--via", "cr"),
        *("--tenant", "t", "--junitxml", str(junit), *args),
    ]
    completed = subprocess.run(
        [sys.executable, *command],
        env=without_harness_settings(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert junit.is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.get("name", "")] = "failed" if failed else "passed"
    return outcomes


def test_tests_run_at_once_and_the_markers_keep_apart_who_declares_it(tmp_path):
    outcomes = run_samples(tmp_path)
    assert len(outcomes) == 8, outcomes
    assert set(outcomes.values()) == {"passed"}, outcomes


@pytest.mark.slow
def test_one_at_a_time_the_rendezvous_cannot_meet(tmp_path):
    """The samples' proof of overlap holds only when tests overlap."""
    outcomes = run_samples(tmp_path, "--concurrency", "1")
    rendezvous = {name: outcome for name, outcome in outcomes.items() if "rendezvous" in name}
    assert set(rendezvous.values()) == {"failed"}, outcomes
    assert outcomes["test_alone"] == "passed", outcomes


@pytest.mark.parametrize("value", ["0", "two", "1001"])
def test_a_bad_concurrency_is_one_line_naming_the_flag(tmp_path, value):
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", SAMPLES, "--concurrency", value],
        env=without_harness_settings(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "--concurrency must be a whole number from 1 to 1000" in completed.stderr
