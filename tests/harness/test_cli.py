"""`python -m harness`: bad input gets one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "harness: the following arguments are required: COMMAND"),
        (("launch",), "invalid choice: 'launch'"),
        (("up", "--profile", "era-z"), "argument --profile: invalid choice: 'era-z'"),
        (("up", "--boot-delay", "soon"), "not a number of seconds: 'soon'"),
        (("up", "--kube-port", "99999"), "not a TCP port: '99999'"),
        (("up", "--crd", "/nonexistent/crd.yaml"), "--crd /nonexistent/crd.yaml: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_4(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".harness").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("up", "--controller", "mutant:"), "expected reference, none or mutant:NAME"),
        (("up", "--fault", "bogus"), "expected COMPONENT:SETTINGS"),
        (("up", "--fault", "apiserver:rate=2"), "rate must be in 0..1, got '2'"),
        (("up", "--fault", "kubevirt:"), "no settings after kubevirt:"),
        (("up", "--fault", "apiserver:error=418"), "error must be one of 429, 500, 503, reset"),
        (("up", "--fault", "apiserver:latency=fast"), "'fast' is not a duration"),
        (("up", "--fault", "apiserver:error=503,verbs=fetch"), "verbs takes get|list|watch"),
        (("up", "--fault", "apiserver:rate=0.5"), "give exactly one of error, latency"),
        (("up", "--fault", "apiserver:error=503,retry-after=2"), "retry-after applies to"),
        (("up", "--fault", "kubevirt:never-recreate=yes"), "never-recreate takes no value"),
        (("up", "--fault", "kubevirt:boot-delay=5s,hang-deletion"), "give exactly one of"),
        (("up", "--fault", "kubevirt:crash"), "unknown setting 'crash' for kubevirt"),
        (("up", "--fault", "fulfillment:error=INTERNAL"), "UNAVAILABLE, DEADLINE_EXCEEDED"),
        (("up", "--fault", "fulfillment:latency=1s,methods=Frob"), "methods takes Get|List"),
    ],
)
def test_bad_controller_or_fault_is_refused_before_anything_starts(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".harness").exists()


def test_parsing_any_command_leaves_the_kubernetes_client_and_grpc_unimported():
    """`harness up` (the pytest plugin's stack) imports the client once, in the stack, while
    the API server starts; building the parser must not import it first (0.5 s of start-up)."""
    probe = (
        "import sys; from harness.commands.cli import build_parser; "
        "build_parser().parse_args(['doctor']); build_parser().parse_args(['up']); "
        "loaded = ('kubernetes', 'grpc', 'harness.clients.kubernetes_api'); "
        "print(sorted(m for m in loaded if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == "[]", completed.stdout + completed.stderr


def test_a_second_stack_on_a_state_dir_in_use_is_refused_naming_the_first(tmp_path):
    state = tmp_path / "state"
    first = subprocess.Popen(
        [sys.executable, "-m", "harness", "up", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert first.stdout.readline().startswith("READY ")
        env_file = (state / "env").read_text()
        second = run("up", "--state-dir", str(state), cwd=tmp_path)
        assert second.returncode == 4, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert f"state dir {state} is in use by harness up (pid {first.pid}" in line
        assert (state / "env").read_text() == env_file, "the running stack's files are untouched"
    finally:
        first.terminate()
        assert first.wait(30) == 0
