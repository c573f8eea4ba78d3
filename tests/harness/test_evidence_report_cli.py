"""`python -m harness report`: one clear line and an exit code when it cannot build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]


def report(*args, path=None):
    env = without_harness_settings()
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "harness", "report", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_allure_results_it_is_a_usage_error(tmp_path):
    result = report("--results-dir", str(tmp_path))
    assert result.returncode == 4, result.stderr
    assert result.stderr.count("\n") == 1 and "--alluredir" in result.stderr
    assert not (tmp_path / "allure-report").exists()


def test_without_node_it_says_how_to_get_it_in_one_line(tmp_path):
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "0-result.json").write_text("{}")
    result = report("--results-dir", str(tmp_path), path=str(tmp_path / "no-tools-here"))
    assert result.returncode == 20, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Node.js not found" in result.stderr and "apt-get install nodejs npm" in result.stderr
    assert "Traceback" not in result.stderr
