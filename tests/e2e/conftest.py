"""A stack without a controller (`harness up --no-controller`), shared by a module's tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.reference.stack import StackOptions, launch
from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bare_stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("bare-stack")
    stack = launch(StackOptions(state_dir=state, controller="none"))
    env = stack.start()
    yield state, env
    stack.stop()


def run_pytest(args, env, timeout=180):
    """Run pytest on the suites in a child process with exactly `env` as harness settings."""
    clean = without_harness_settings()
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        env={**clean, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
