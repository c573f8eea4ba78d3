"""The bad inputs issue 15 reported as tracebacks or INTERNALERRORs, and their kin: each is now
one line naming what the user set, with exit 4 (bad input) or 20 (the machine refused), before
anything starts. Every case runs the real command in a child process."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
NOT_HERE = "192.0.2.1"  # TEST-NET-1: an address no machine of ours has


def harness(*args: str, env: dict[str, str] | None = None, cwd: Path, limit: int | None = None):
    def refuse_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # type: ignore[arg-type]

    clean = without_harness_settings()
    clean.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        env={**clean, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=refuse_writes if limit is not None else None,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture()
def files(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    (tmp_path / "kubeconfig").write_text("{}")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["up", "--state-dir", "a-file"], {}, "argument --state-dir: a-file: not a directory"),
        (["up", "--state-dir", "a-file/sub"], {}, "not a directory (inside a-file, a file)"),
        (["up", "--state-dir", ""], {}, "argument --state-dir: empty"),
        (["up", "--host", NOT_HERE], {}, f"--host {NOT_HERE}: cannot listen there"),
        (["up", "--host", ""], {}, "--host is empty"),
        (["up", "--crd", "binary.yaml"], {}, "--crd binary.yaml: not a YAML file"),
        (
            ["up", "--crd", "pod.yaml"],
            {},
            "document 1 is not a CustomResourceDefinition (kind Pod)",
        ),
        (["up", "--boot-delay", "nan"], {}, "argument --boot-delay: not a number of seconds up to"),
        (
            ["doctor"],
            {"HARNESS_STATE_DIR": "a-file"},
            "HARNESS_STATE_DIR: a-file is not a directory",
        ),
        (["run", "-k", "x"], {"HARNESS_STATE_DIR": "a-file"}, "HARNESS_STATE_DIR: a-file is not a"),
        (["run", "--workers", "2", "-k", "a and"], {}, "Wrong expression passed to '-k': a and"),
        (["run", "--workers", "2", "-m", "no_such_marker"], {}, "Unknown marker(s) in '-m'"),
        (["run", "-k", "x"], {"HARNESS_KEEP_ON_FAILURE": "maybe"}, "HARNESS_KEEP_ON_FAILURE must"),
        (["run"], {"HARNESS_WORKERS": "two"}, "HARNESS_WORKERS must be a whole number"),
        (["run"], {"HARNESS_RESULTS_DIR": "a-file"}, "HARNESS_RESULTS_DIR: results dir a-file"),
        (["run", "-k", "x"], {"HARNESS_DEADLINE": "inf"}, "HARNESS_DEADLINE must be a number"),
        (["run", "-k", "x"], {"HARNESS_SHARD": "²/3"}, "HARNESS_SHARD must be INDEX/COUNT"),
        (
            ["doctor", "--target", "cluster", "--kubeconfig", "kubeconfig"],
            {"HARNESS_API_ADDRESS": "h:1", "HARNESS_API_TOKEN_FILE": "binary.yaml"},
            "HARNESS_API_TOKEN_FILE: binary.yaml is not a token",
        ),
        (
            ["build-control-plane"],
            {"HARNESS_CONTROL_PLANE_CACHE": "a-file", "PATH": "/usr/local/go/bin:/usr/bin:/bin"},
            "HARNESS_CONTROL_PLANE_CACHE: cannot use a-file as a directory",
        ),
    ],
)
def test_bad_input_is_one_line_naming_what_was_set_and_exit_4(files, args, env, words):
    result = harness(*args, env=env, cwd=files)
    # `harness run` shows pytest's own refusal as pytest prints it.
    line = one_line(result) if args[0] != "run" else result.stderr
    assert result.returncode == 4, result.stdout + result.stderr
    assert words in line, line
    assert not (files / ".harness").exists() and not (files / "results" / "summary.json").exists()


def test_a_state_dir_the_disk_refuses_is_exit_20_in_one_line(tmp_path):
    """A file size limit of 0 refuses the first byte written, as a full disk does."""
    result = harness("up", "--state-dir", "state", cwd=tmp_path, limit=0)
    assert result.returncode == 20, result.stderr
    line = one_line(result)
    assert line.startswith("harness up: cannot write ") and "File too large" in line, line
