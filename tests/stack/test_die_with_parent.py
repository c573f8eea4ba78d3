"""A component dies with the process that started it, even when that one is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PARENT = """
import sys
from pathlib import Path
from harness.reference.process import ComponentProcess

process = ComponentProcess("apiserver", "harness.reference.apiserver", ["--port", "0"],
                           Path(sys.argv[1]))
process.start()
process.wait_ready(30)
print(process.pid, flush=True)
sys.stdin.read()  # until killed
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_component_outlives_no_sigkilled_parent(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "apiserver.log")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    child = 0
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the component outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)
