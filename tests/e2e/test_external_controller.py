"""`harness up --no-controller`: any external controller is the system under test.

The suites run with `--target cluster` against the stack's env file, exactly as a user would
(`set -a; . .harness/env; set +a; pytest suites --target cluster`): with no controller in this
process (pytester), the harness plugin loaded by its entry point as in any run; with the
external controller under pytest-xdist, so as a child process.
"""

from __future__ import annotations

import pytest

from harness.reference.process import ComponentProcess
from tests.inprocess import REPO, output_of, run_pytest_inprocess

from .conftest import run_pytest


@pytest.mark.timeout(180)  # what a child process was given
def test_restart_suite_fails_and_says_why_when_no_controller_acts(bare_stack, pytester):
    _, env = bare_stack
    result = run_pytest_inprocess(
        pytester,
        "-q",
        REPO / "suites" / "test_restart.py",
        "-k",
        "restart_now",
        "--target",
        "cluster",
        "--provision-timeout",
        "4",
        env=env,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output_of(result)
    result.assert_outcomes(failed=1)
    [failure] = [line for line in result.outlines if line.startswith("E ") and "waited 4 s" in line]
    assert "waited 4 s for the ComputeInstance" in failure
    assert "phase Running with a virtualMachineReference" in failure
    assert "last seen: ComputeInstance vm-" in failure


def test_an_external_controller_using_only_the_written_kubeconfig_passes(bare_stack):
    state, env = bare_stack
    controller = ComponentProcess(
        "external-controller",
        "harness.reference.controller",
        ["--kubeconfig", str(state / "controller.kubeconfig"), "--profile", "osac"],
        state / "logs" / "external-controller.log",
    )
    controller.start()
    try:
        controller.wait_ready(60)
        result = run_pytest(
            [
                "suites",
                "--target",
                "cluster",
                "--quiet-window",
                "2",
                "--restart-timeout",
                "20",
                "--provision-timeout",
                "20",
                "-n",
                "2",
            ],
            env,
            timeout=600,
        )
    finally:
        controller.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
