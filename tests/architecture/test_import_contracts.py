"""The import-linter contracts cover what is added tomorrow, not only what exists today.

Each case copies the packages and pyproject.toml into a temporary tree, drops in one module,
and runs `lint-imports` there: the contracts name packages (an exhaustive layers contract over
every child of `harness`), so a new module is checked the day it is added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("harness", "suites"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        check=False,
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold_on_a_copy_of_the_tree(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("path", "source", "words"),
    [
        (  # the reference stack never imports the client side
            "harness/reference/intruder.py",
            "from harness.testkit.timeline import Timeline\n",
            "harness.reference.intruder -> harness.testkit.timeline",
        ),
        (  # every top-level module sits in a layer
            "harness/helpers.py",
            "VALUE = 1\n",
            "harness.helpers",
        ),
        (  # the client side reaches the stack only from commands and the plugin, via stack
            "harness/testkit/shortcut.py",
            "from harness.reference.apiserver import testing\n",
            "harness.testkit.shortcut -> harness.reference.apiserver",
        ),
        (  # only the clients speak the protocols
            "harness/runner/dialer.py",
            "import grpc\n",
            "harness.runner.dialer -> grpc",
        ),
    ],
    ids=["reference-imports-testkit", "unplaced-module", "reach-into-reference", "grpc"],
)
def test_a_new_module_that_breaks_a_rule_fails_the_contracts(tree, path, source, words):
    (tree / path).write_text(source)
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and words in result.stdout, result.stdout
