"""Start a component by forking this process instead of spawning a new interpreter.

Three of the four components import the official Kubernetes client, which costs more CPU than
anything else they do at start-up; three such imports made up most of the stack's start-up on
a machine with few cores (docs/performance.md). The stack imports it once (`preload`) while
the API server starts, then forks each client component from that warm process: the child
resets what it inherited (signals, session, standard streams, logging) and runs the
component's `__main__` as `python -m` would.

Forking is only safe from a process with a single thread, so `can_fork()` says when to fall
back to spawning (for example inside a test process with running threads, or after gRPC has
started its own threads).
"""

from __future__ import annotations

import contextlib
import logging
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import IO

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_NAME = 15


def preload() -> None:
    """Import what the forked components need (the fulfillment API's gRPC stack is left to it)."""
    import google.protobuf.message  # noqa: F401

    import harness.reference.component_client
    import harness.reference.controller.manager
    import harness.reference.controller.mutants
    import harness.reference.kubevirt.simulator  # noqa: F401


def can_fork() -> bool:
    """Forking is safe from a process with one thread: no other thread can hold a lock the child
    would inherit. The OS counts the threads, so gRPC's C threads (started by its first channel
    or server, not by importing it) count too."""
    if not hasattr(os, "fork") or threading.current_thread() is not threading.main_thread():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: only Python's own view of its threads is available
        return threading.active_count() == 1 and "grpc" not in sys.modules


class ForkedProcess:
    """The part of `subprocess.Popen` that ComponentProcess uses, for a forked child."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)


def fork_component(
    module: str,
    args: list[str],
    log_fd: int,
    env: dict[str, str],
    in_child: Callable[[], None] = lambda: None,
) -> ForkedProcess:
    """Fork; the child runs `module` as `__main__` with `args`, stdout to a pipe, stderr to
    `log_fd`, and never returns (it exits with the component's exit code)."""
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    # A stop signal that lands between fork and the child's own handlers must not run the
    # parent's handler in the child: block them across the fork.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child, which exits below
        _run_child(module, args, log_fd, write_fd, read_fd, env, blocked, in_child)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(write_fd)
    return ForkedProcess(pid, os.fdopen(read_fd, "rb", buffering=0))


def _name_process(name: str) -> None:  # pragma: no cover - runs in the child
    """`ps -o comm`, top and /proc/<pid>/comm show the component (its command line still
    reads `python -m harness up …`, the process it was forked from)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(
                _PR_SET_NAME, name.encode()[:15], 0, 0, 0
            )


def _run_child(  # pragma: no cover - runs in the child
    module: str,
    args: list[str],
    log_fd: int,
    write_fd: int,
    read_fd: int,
    env: dict[str, str],
    blocked: set[signal.Signals],
    in_child: Callable[[], None],
) -> None:
    code = 1
    try:
        os.setsid()
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        in_child()
        _name_process(module.rsplit(".", 1)[-1])
        os.close(read_fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(write_fd, 1)
        os.dup2(log_fd, 2)
        os.close(null)
        os.close(write_fd)
        os.environ.update(env)
        logging.root.handlers.clear()
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            sys.stderr.write(f"{exit_.code}\n")
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
