"""With nothing reconciling, the suites fail the same way on the real control plane as on the
embedded one: the same clause, the same explanation, the instance as last seen."""

from __future__ import annotations

import re

import pytest

from harness.reference.stack import StackOptions, launch
from tests.e2e.conftest import run_pytest

# What differs between two runs and is not the message: generated names, times, versions.
VARYING = [
    (re.compile(r"vm-[0-9a-z]+"), "vm-<name>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"\bid [0-9a-f-]{36}"), "id <uid>"),
    (re.compile(r"\brv \d+"), "rv <rv>"),
    (re.compile(r"\b\d+(\.\d+)? s\b"), "<n> s"),
]


def failure_of(control_plane: str, tmp_path) -> str:
    stack = launch(
        StackOptions(
            state_dir=tmp_path / control_plane, controller="none", control_plane=control_plane
        )
    )
    env = stack.start()
    try:
        result = run_pytest(
            [
                "suites/test_restart.py", "-k", "restart_now", "--target", "cluster",
                "--provision-timeout", "4", "-p", "no:randomly",
            ],
            env,
        )  # fmt: skip
    finally:
        stack.stop()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("E ") and "waited 4 s" in line
    ]
    assert len(lines) == 1, result.stdout[-3000:]
    message = lines[0]
    for pattern, replacement in VARYING:
        message = pattern.sub(replacement, message)
    return message


@pytest.mark.slow
def test_no_controller_fails_with_the_same_message_on_both_control_planes(tmp_path):
    embedded = failure_of("embedded", tmp_path)
    real = failure_of("real", tmp_path)
    assert "no operator is reconciling ComputeInstance" in embedded, embedded
    assert real == embedded
