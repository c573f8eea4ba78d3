"""pytest run in this process (pytester) as a user's `python -m pytest` would run in a child.

The harness plugin is loaded by its entry point in the inner session too (this session has it
loaded already; `-p no:osac_restart_harness` would leave it out). What a session keeps lives in
its own config, so the inner session and this one never see each other's results. Around the
run: only the harness settings the test gives (HARNESS_*, KUBECONFIG, as `tests.environ` does
for a child), no transport retries carried across to or from this session's test, and no child
process of this one left running afterwards: a stack the inner session starts is stopped by its
own fixture or at unconfigure, as in a child process.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.clients.retries import LEDGER
from harness.runner.interrupt import child_pids
from tests.environ import is_harness_setting

REPO = Path(__file__).resolve().parents[1]
# What a user's run in its own process would not have: this session's xdist worker identity.
_OUTER_SESSION = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


def alive(pid: int) -> bool:
    """Running (a zombie has exited: only its parent has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def live_children() -> set[int]:
    return {pid for pid in child_pids(os.getpid()) if alive(pid)}


def run_pytest_inprocess(
    pytester: pytest.Pytester, *args: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> pytest.RunResult:
    """`python -m pytest -p no:cacheprovider *args` in pytester's folder, in this process, with
    exactly `env` as harness settings."""
    LEDGER.drain()  # an earlier retry of this session's test is not the inner session's
    before = live_children()
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if is_harness_setting(name) or name in _OUTER_SESSION:
                patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        result = pytester.runpytest("-p", "no:cacheprovider", *args)
    LEDGER.drain()  # nor is one of the inner session's this test's
    left = live_children() - before
    for pid in left:  # stopped here all the same (each started its own session), then failed
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    assert not left, f"the in-process run left child processes running: {sorted(left)}"
    return result


def output_of(result: pytest.RunResult) -> str:
    return "\n".join([*result.outlines, *result.errlines])
