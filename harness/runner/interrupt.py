"""SIGTERM and SIGINT in a pytest process: stop cleanly, clean up, flush the results.

pytest itself dies on SIGTERM without tearing anything down, so the objects of the running test
would leak. Here the first signal
- in a process that runs tests: stops the session after the current test and, if a test body is
  running, raises `RunInterrupted` in it, so its fixtures (the instance's deletion) run as after
  any failure; a signal during set-up or tear-down only stops the session, so cleanup finishes;
- in the xdist controller: is passed on as SIGTERM to its workers, which do the above, and the
  controller waits for them to finish and report.
Later SIGTERMs are ignored (cleanup is under way); a second SIGINT is a person insisting and
raises KeyboardInterrupt as pytest would. The deadline's hard stop goes through the same path,
and so does an environment that died (its test is stopped in set-up too).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger("harness.runner.interrupt")


class RunInterrupted(BaseException):
    """Raised inside a running test when the run is asked to stop.

    A BaseException, like KeyboardInterrupt: code that handles any error of its own (`except
    Exception`, say around an optional lookup) must not swallow it and carry on creating objects
    after the run was asked to stop."""


class Interrupter:
    def __init__(self, stop_session: Callable[[str], None], forwards_to_workers: bool) -> None:
        self.stop_session = stop_session
        self.forwards_to_workers = forwards_to_workers
        self.reason: str | None = None  # SIGTERM, SIGINT, deadline or environment
        self.in_test_body = False
        self.in_test = False  # set-up, body or tear-down of a test
        self.environment_failure: str | None = None
        self._pending_reason: str | None = None
        self._previous: dict[int, object] = {}
        self._timer: threading.Timer | None = None

    def install(self) -> bool:
        if threading.current_thread() is not threading.main_thread():
            log.warning("not in the main thread: SIGTERM will not be handled cleanly")
            return False
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return True

    def uninstall(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if threading.current_thread() is threading.main_thread():
            for signum, previous in self._previous.items():
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def stop_at(self, delay: float) -> None:
        """Interrupt the run `delay` seconds from now (the deadline's hard stop)."""

        def fire() -> None:
            self._pending_reason = "deadline"
            _signal_main_thread()

        self._timer = threading.Timer(max(delay, 0.0), fire)
        self._timer.daemon = True
        self._timer.start()

    def environment_failed(self, message: str) -> None:
        """A component the run depends on died: stop now, whatever the test is doing (its set-up
        or cleanup would only wait on the dead component until its timeout)."""
        self.environment_failure = message
        self._pending_reason = "environment"
        _signal_main_thread()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = self._pending_reason or signal.Signals(signum).name
        self._pending_reason = None
        if self.reason is not None:
            if signum == signal.SIGINT and name == "SIGINT":
                raise KeyboardInterrupt
            return
        self.reason = name
        if self.forwards_to_workers:
            for pid in child_pids(os.getpid()):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            return
        self.stop_session(name)
        if name == "environment" and self.in_test:
            raise RunInterrupted(f"not judged: {self.environment_failure}")
        if self.in_test_body:
            raise RunInterrupted(
                f"interrupted by {name}: the run was asked to stop; this test's objects are "
                "cleaned up and the results written"
            )


def _signal_main_thread() -> None:
    """SIGTERM to the main thread itself: a real signal ends a wait it is blocked in (a lock's
    timed acquire), where `_thread.interrupt_main` would be noticed only when the wait ends."""
    main = threading.main_thread().ident
    assert main is not None
    signal.pthread_kill(main, signal.SIGTERM)


def child_pids(parent: int) -> list[int]:
    """Direct children of `parent`, from /proc (the xdist workers of a controller)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1] == str(parent):
            children.append(int(entry.name))
    return children
