"""Components forked from a warm process behave like spawned ones: READY, serve, stop, fail.

Each case runs in a fresh single-threaded interpreter (a pytest process may hold threads, and
forking is only used where it is safe), which reports what it saw as one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SERVE_AND_STOP = """
import base64, json, signal, ssl, sys, urllib.request
from pathlib import Path
from harness.reference import forking
from harness.reference.process import ComponentProcess

# The parent's own SIGTERM handler must not be what the child runs.
signal.signal(signal.SIGTERM, lambda *_: None)
forking.preload()
log = Path(sys.argv[1])
process = ComponentProcess("apiserver", "harness.reference.apiserver", ["--port", "0"], log,
                           fork=True)
process.start()
info = process.wait_ready(30)
trust = base64.b64decode(info["certificate_authority_data"]).decode()
context = ssl.create_default_context(cadata=trust)
with urllib.request.urlopen(info["url"] + "/version", timeout=5, context=context) as response:
    version = json.loads(response.read())
kind = type(process.process).__name__
pid = process.pid
comm = Path(f"/proc/{pid}/comm").read_text().strip()
process.stop(grace=10)
print(json.dumps({"kind": kind, "major": version.get("major"), "code": process.poll(),
                  "pid": pid, "comm": comm}))
"""

BAD_INPUT = """
import json, sys
from pathlib import Path
from harness.reference.process import ComponentError, ComponentProcess

process = ComponentProcess("apiserver", "harness.reference.apiserver", ["--port", "nope"],
                           Path(sys.argv[1]), fork=True)
process.start()
try:
    process.wait_ready(30)
    print(json.dumps({"error": None}))
except ComponentError as error:
    print(json.dumps({"error": str(error), "kind": type(process.process).__name__}))
"""

THREADED = """
import json, threading
from harness.reference import forking
alone = forking.can_fork()
gate = threading.Event()
thread = threading.Thread(target=gate.wait)
thread.start()
safe = forking.can_fork()
gate.set()
thread.join()
print(json.dumps({"with_thread": safe, "alone": alone}))
"""


def run(script: str, tmp_path: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "component.log")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_component_serves_and_stops_cleanly_on_sigterm(tmp_path):
    seen = run(SERVE_AND_STOP, tmp_path)
    assert seen["kind"] == "ForkedProcess"
    assert seen["major"]
    assert seen["comm"] == "apiserver"
    assert seen["code"] == 0, (tmp_path / "component.log").read_text()
    assert not Path(f"/proc/{seen['pid']}").exists()
    assert "serving on" in (tmp_path / "component.log").read_text()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_component_with_bad_input_reports_its_one_line_error(tmp_path):
    seen = run(BAD_INPUT, tmp_path)
    assert seen["kind"] == "ForkedProcess"
    assert seen["error"] is not None
    assert "exited with code 2 before it was ready" in seen["error"]
    assert "--port" in seen["error"]
    assert "Traceback" not in (tmp_path / "component.log").read_text()


GRPC = """
import json
from harness.reference import forking
import grpc
imported = forking.can_fork()
channel = grpc.insecure_channel("127.0.0.1:1")
print(json.dumps({"imported": imported, "channel": forking.can_fork()}))
"""


def test_forking_is_refused_while_other_threads_run(tmp_path):
    assert run(THREADED, tmp_path) == {"with_thread": False, "alone": True}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_importing_grpc_leaves_forking_safe_but_a_channel_does_not(tmp_path):
    """`harness up` imports gRPC (through the doctor) without using it; its C threads start with
    the first channel, and only they make forking unsafe."""
    assert run(GRPC, tmp_path) == {"imported": True, "channel": False}
