"""The Job's entry point: it runs the harness, keeps its exit code, writes the done-file and
carries the results layout out of the pod in the log, where `unpack` finds it again."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from harness.commands import job_run as jobrun

ROOT = Path(__file__).resolve().parents[2]


def _jobrun(*args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "harness.commands.job_run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
        check=False,
    )


def test_run_keeps_the_exit_code_writes_done_and_exports_through_the_log(tmp_path):
    results, export = tmp_path / "results", tmp_path / "export"
    export.mkdir()
    results.mkdir()
    (results / "junit.xml").write_text("<testsuites/>")
    env = {
        "HARNESS_RESULTS_DIR": str(results),
        "HARNESS_EXPORT_DIR": str(export),
        "HARNESS_JOB_NAME": "osac-harness",
        "JOB_COMPLETION_INDEX": "2",
    }
    # A bad option: the harness answers with its usage-error exit code, which the Job keeps.
    run = _jobrun("run", "--no-doctor", "--", "--no-such-option", env=env)
    assert run.returncode == 4, run.stderr
    done = json.loads((results / "done.json").read_text())
    assert done["exitCode"] == 4 and done["exitName"] == "USAGE_ERROR"
    assert re.search(r"^----- BEGIN OSAC HARNESS RESULTS osac-harness-2 -----$", run.stdout, re.M)
    assert (export / "osac-harness-2.tar.gz").is_file()

    log = tmp_path / "pod.log"
    log.write_text("some harness output\n" + run.stdout + "trailing line\n")
    unpacked = _jobrun("unpack", str(tmp_path / "out"), str(log))
    assert unpacked.returncode == 0, unpacked.stderr
    assert (tmp_path / "out" / "results" / "junit.xml").read_text() == "<testsuites/>"
    assert json.loads((tmp_path / "out" / "results" / "done.json").read_text())["exitCode"] == 4


def test_an_environment_the_doctor_finds_not_ready_runs_no_test(tmp_path):
    """The doctor runs first: an unreachable API server ends the Job at once with exit 20, its
    findings in doctor.json and a summary saying no test ran, carried out in the log."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{closed}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    results = tmp_path / "results"
    env = {
        "HARNESS_RESULTS_DIR": str(results),
        "HARNESS_TARGET": "cluster",
        "HARNESS_VIA": "cr",
        "HARNESS_TENANT": "tenant-harness",
        "KUBECONFIG": str(kubeconfig),
    }
    run = _jobrun("run", "--", "--workers", "2", "-k", "never-collected", env=env)
    assert run.returncode == 20, run.stdout + run.stderr
    assert "kube.api" in run.stdout and "environment NOT READY" in run.stdout
    out = tmp_path / "out"
    assert _jobrun("unpack", str(out), stdin=run.stdout).returncode == 0
    doctor = json.loads((out / "results" / "doctor.json").read_text())
    assert doctor["ready"] is False
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert summary["exit_code"] == 20 and summary["counts"]["total"] == 0
    assert "doctor" in summary["note"]
    assert not (out / "results" / "junit.xml").exists(), "no test ran"


def test_the_doctor_is_given_the_harness_settings_among_the_run_arguments():
    args = ["--workers", "2", "--profile", "cloudkit", "-k", "x", "--via=cr", "--api-insecure"]
    args += ["--restart-timeout", "10", "suites/test_a.py"]
    assert jobrun.doctor_args(args) == [
        *("--profile", "cloudkit", "--via=cr", "--api-insecure"),
        *("--restart-timeout", "10"),
    ]


def test_unpack_of_several_shards_from_prefixed_logs_keeps_them_apart(tmp_path):
    lines = []
    for index in range(2):
        root = tmp_path / f"shard{index}"
        root.mkdir()
        (root / "summary.json").write_text(json.dumps({"shard": index}))
        for line in jobrun.armoured(f"osac-harness-{index}", jobrun.pack(root)):
            lines.append(f"[pod/osac-harness-{index}-x/harness] {line}")
    unpacked = _jobrun("unpack", str(tmp_path / "out"), stdin="\n".join(lines) + "\n")
    assert unpacked.returncode == 0, unpacked.stderr
    for index in range(2):
        summary = tmp_path / "out" / f"osac-harness-{index}" / "results" / "summary.json"
        assert json.loads(summary.read_text()) == {"shard": index}


def test_a_cut_log_or_no_results_is_one_line_and_exit_4(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    lines = list(jobrun.armoured("results", jobrun.pack(root)))
    cut = _jobrun("unpack", str(tmp_path / "out"), stdin="\n".join(lines[:-1]))
    assert cut.returncode == 4
    assert cut.stderr.strip().count("\n") == 0 and "END marker" in cut.stderr
    empty = _jobrun("unpack", str(tmp_path / "out"), stdin="nothing here\n")
    assert empty.returncode == 4 and "no results found" in empty.stderr
    missing = _jobrun("unpack", str(tmp_path / "out"), str(tmp_path / "absent.log"))
    assert missing.returncode == 4 and "no such log file" in missing.stderr


def test_containerfile_copies_what_exists_and_runs_the_job_entry_point():
    text = (ROOT / "jobs" / "Containerfile").read_text()
    sources = [
        part
        for line in text.splitlines()
        if line.startswith("COPY")
        for part in line.split()[1:-1]
        if not part.startswith("--")
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"Containerfile copies missing {source}"
    assert '"harness.commands.job_run"' in text


def test_sigterm_to_the_job_entry_point_reaches_the_harness(tmp_path):
    # As PID 1 of the pod, the entry point must pass the kubelet's SIGTERM on, or the harness
    # never flushes its results. A child standing in for the harness exits 42 on SIGTERM.
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    wrapper = (
        "import sys\n"
        "from harness.commands import job_run as jobrun\n"
        f"print('exit', jobrun._run_forwarding_signals([sys.executable, '-c', {child!r}]))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", wrapper], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert out.strip() == "exit 42"
