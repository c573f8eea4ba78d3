"""The embedded stack begins at configure time only when the session will run the suites, and
is stopped by PID even when no test ends up using it.

Whether a stack is begun is the plugin's decision, shown in this process (pytester); what the
processes did (the stack's PIDs after pytest exited, the client libraries a process imported,
xdist's controller and workers) needs pytest in a process of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.environ import without_harness_settings
from tests.inprocess import output_of, run_pytest_inprocess

from .conftest import REPO


def pytest_in(
    cwd: Path, *args: str, state_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = without_harness_settings()
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        env={**clean, "HARNESS_STATE_DIR": str(state_dir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# The default, said: an inner session without the harness plugin would refuse it.
EMBEDDED = ("--target", "embedded")


def test_collect_only_and_non_suite_tests_start_no_stack(pytester, tmp_path):
    state = tmp_path / "co"
    collected = run_pytest_inprocess(
        pytester,
        "-q",
        REPO / "suites",
        "--collect-only",
        *EMBEDDED,
        env={"HARNESS_STATE_DIR": str(state)},
    )
    assert collected.ret == pytest.ExitCode.OK, output_of(collected)[-4000:]
    collected.stdout.fnmatch_lines(["suites/test_restart.py::*", "*tests collected in *"])
    assert not state.exists() or not any(state.iterdir())

    state = tmp_path / "plain"
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    plain = run_pytest_inprocess(
        pytester, "-q", "test_plain.py", *EMBEDDED, env={"HARNESS_STATE_DIR": str(state)}
    )
    assert plain.ret == pytest.ExitCode.OK, output_of(plain)[-4000:]
    plain.assert_outcomes(passed=1)
    assert not state.exists()


def test_a_stack_begun_early_that_no_test_uses_leaves_nothing_running(tmp_path):
    state = tmp_path / "state"
    result = pytest_in(REPO, "suites", "-k", "no_test_has_this_name", state_dir=state)
    assert result.returncode == 5, result.stdout[-2000:] + result.stderr[-2000:]
    assert (state / "logs" / "stack.log").exists(), "the stack was not begun at configure time"
    if (state / "stack.json").exists():  # it got as far as starting its components
        pids = json.loads((state / "stack.json").read_text())["pids"]
        left = {name: pid for name, pid in pids.items() if alive(pid)}
        for pid in left.values():
            os.kill(pid, signal.SIGKILL)
        assert not left, f"components still running after pytest exited: {left}"


PROBE = textwrap.dedent(
    """
    import json
    import os
    import sys

    from harness.plugin.configure import PRESTARTED_KEY

    SEEN = {}


    def pytest_sessionstart(session):
        stack = session.config.stash.get(PRESTARTED_KEY, None)
        SEEN["begun_before_the_session"] = stack is not None and stack.process.pid is not None


    def pytest_sessionfinish(session):
        SEEN["client_libraries"] = "kubernetes" in sys.modules or "grpc" in sys.modules
        worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
        with open(os.path.join(os.environ["PROBE_OUT"], worker + ".json"), "w") as out:
            json.dump(SEEN, out)
    """
)


def probed_run(tmp_path: Path, *args: str) -> dict[str, dict[str, bool]]:
    """Run the suites with a probe plugin; what each process (main, gw0, …) had begun."""
    (tmp_path / "probe_plugin.py").write_text(PROBE)
    out, state = tmp_path / "probe", tmp_path / "state"
    out.mkdir()
    result = pytest_in(
        REPO,
        "-p",
        "probe_plugin",
        *args,
        state_dir=state,
        env={"PROBE_OUT": str(out), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


def test_the_suites_run_on_the_stack_begun_early(tmp_path):
    assert probed_run(tmp_path, "suites/test_baseline.py") == {
        "main": {"begun_before_the_session": True, "client_libraries": True}
    }
    pids = json.loads((tmp_path / "state" / "stack.json").read_text())["pids"]
    assert not [pid for pid in pids.values() if alive(pid)]


def test_under_xdist_each_worker_begins_its_stack_and_the_controller_none(tmp_path):
    """The controller runs no tests: a stack there would be a third one, competing for CPU,
    and importing the client libraries there (1 s of CPU) would delay starting the workers."""
    seen = probed_run(
        tmp_path,
        "-n",
        "2",
        "suites/test_baseline.py",
        "suites/test_api_fields.py::test_instance_created_halted_has_no_vmi",
    )
    assert seen == {
        "main": {"begun_before_the_session": False, "client_libraries": False},
        "gw0": {"begun_before_the_session": True, "client_libraries": True},
        "gw1": {"begun_before_the_session": True, "client_libraries": True},
    }
    # --state-dir (HARNESS_STATE_DIR) holds one folder per worker: the stacks never share one.
    state = tmp_path / "state"
    assert sorted(path.parent.name for path in state.glob("*/stack.json")) == ["gw0", "gw1"]
