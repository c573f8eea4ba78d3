"""Start, watch and stop one reference component as a child process.

Used by `stack.py` and by tests that need a single component (for example the API server alone).
The child's stderr goes to a log file; its stdout carries the one `READY <json>` line.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from harness.ownership import PARENT_ENV
from harness.reference.forking import ForkedProcess, can_fork, fork_component
from harness.reference.runtime import parse_ready_line

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when its parent dies, so no component outlives a crash."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ComponentError(RuntimeError):
    """A component exited or did not become ready; the message quotes its log tail."""


class ComponentProcess:
    def __init__(
        self,
        name: str,
        module: str,
        args: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        fork: bool = False,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.name = name
        # Descriptors the child inherits (a listening socket bound by the parent).
        self.pass_fds = pass_fds
        # Fork this (warm) process instead of spawning an interpreter, where that is safe.
        self.fork = fork
        self.module = module
        self.args = args
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | ForkedProcess | None = None
        self.info: dict[str, Any] = {}
        self._log_file: IO[bytes] | None = None
        self._terminated = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self._terminated = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        if self.fork and can_fork() and not self.pass_fds:
            self.process = fork_component(
                self.module,
                self.args,
                self._log_file.fileno(),
                {"PYTHONUNBUFFERED": "1", **(self.env or {})},
                _die_with_parent,
            )
            return
        env = dict(os.environ)
        env.update(self.env or {})
        env.setdefault("PYTHONUNBUFFERED", "1")
        env[PARENT_ENV] = str(os.getpid())  # the child dies with us (runtime.die_with_parent)
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=env,
            start_new_session=True,
            pass_fds=self.pass_fds,
        )

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Block until the READY line arrives; raise ComponentError if the child dies first."""
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ComponentError(
                        f"{self.name} did not become ready within {timeout:.0f} s"
                        f"{self._log_excerpt()}"
                    )
                if not selector.select(remaining):
                    continue
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    code = self.process.wait()
                    raise ComponentError(
                        f"{self.name} exited with code {code} before it was ready"
                        f"{self._log_excerpt()}"
                    )
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    info = parse_ready_line(line.decode(errors="replace"))
                    if info is not None:
                        self.info = info
                        return info

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None

    def terminate(self) -> None:
        """Send SIGTERM by PID without waiting, so several components can stop at once."""
        process = self.process
        if process is not None and not self._terminated and process.poll() is None:
            self._terminated = True
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the child by PID, wait `grace` seconds, then SIGKILL its process group."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
        if process.stdout is not None:
            process.stdout.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _log_excerpt(self) -> str:
        tail = self.log_tail()
        return f"; last lines of {self.log_path}:\n{tail}" if tail else f"; see {self.log_path}"
