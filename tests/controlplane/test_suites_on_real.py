"""The restart suites on the real control plane: kube-apiserver, etcd, controllers and kwok,
with the reference operator, KubeVirt sim and fulfillment API as ordinary clients of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profile", "via"), [("osac", "api"), ("osac", "cr"), ("cloudkit", "api"), ("cloudkit", "cr")]
)
def test_every_suite_passes_on_the_real_control_plane(profile, via, tmp_path):
    results = tmp_path / "results"
    completed = subprocess.run(
        [
            sys.executable, "-m", "harness", "run", "--workers", "2",
            "--results-dir", str(results),
            "--control-plane", "real", "--profile", profile, "--via", via,
        ],
        cwd=REPO,
        env=without_harness_settings(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    output = completed.stdout[-4000:] + completed.stderr[-3000:]
    assert completed.returncode == 0, output
    summary = json.loads((results / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["failed"] == counts["error"] == 0 and counts["passed"] > 0, counts
    skipped = [t for t in summary["tests"] if t["outcome"] == "skipped"]
    assert all(t.get("reason") for t in skipped), skipped
    environment = json.loads((results / "environment.json").read_text())
    assert environment["kubernetes_server_version"].startswith("v1."), environment
