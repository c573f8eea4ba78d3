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

Where tests run on lanes (the concurrent runner) the main thread runs none of them: a signal
stops the session and hands the interruption to the runner (`Lanes`), which interrupts each
running test in its own thread under the same rules.
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
from typing import Protocol

from harness.testkit.cancel import Lane, RunInterrupted, current

log = logging.getLogger("harness.runner.interrupt")


class Lanes(Protocol):
    """The tests running on threads of their own (the concurrent runner)."""

    def interrupt(self, body_message: str, everywhere_message: str | None) -> None:
        """Interrupt every test body with `body_message`; with `everywhere_message`, every test
        in set-up or tear-down too."""


class Interrupter:
    def __init__(self, stop_session: Callable[[str], None], forwards_to_workers: bool) -> None:
        self.stop_session = stop_session
        self.forwards_to_workers = forwards_to_workers
        self.reason: str | None = None  # SIGTERM, SIGINT, deadline or environment
        self._main = Lane("main")  # where a test runs when it runs on no lane
        self.lanes: Lanes | None = None
        self.environment_failure: str | None = None
        self._pending_reason: str | None = None
        self._previous: dict[int, object] = {}
        self._timer: threading.Timer | None = None

    @property
    def in_test_body(self) -> bool:
        return (current() or self._main).in_test_body

    @in_test_body.setter
    def in_test_body(self, value: bool) -> None:
        (current() or self._main).in_test_body = value

    @property
    def in_test(self) -> bool:
        """In the set-up, body or tear-down of a test (of the calling thread's lane)."""
        return (current() or self._main).in_test

    @in_test.setter
    def in_test(self, value: bool) -> None:
        (current() or self._main).in_test = value

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
        body = (
            f"interrupted by {name}: the run was asked to stop; this test's objects are "
            "cleaned up and the results written"
        )
        everywhere = f"not judged: {self.environment_failure}" if name == "environment" else None
        if self.lanes is not None:
            self.lanes.interrupt(body, everywhere)
            return
        if everywhere is not None and self._main.in_test:
            raise RunInterrupted(everywhere)
        if self._main.in_test_body:
            raise RunInterrupted(body)


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
