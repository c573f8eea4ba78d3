"""Stopping a test that runs on a thread of its own.

A signal reaches the main thread only. A test that runs on another thread (a lane of the
concurrent runner) is stopped cooperatively instead: its `Lane` is cancelled, which wakes the
harness wait it is blocked in (a timeline's, or a sleep), and that wait raises `RunInterrupted`
in the test's own thread. Waits outside a lane (the serial runner, helper threads) are unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RunInterrupted(BaseException):
    """Raised inside a running test when the run is asked to stop.

    A BaseException, like KeyboardInterrupt: code that handles any error of its own (`except
    Exception`, say around an optional lookup) must not swallow it and carry on creating objects
    after the run was asked to stop."""


class Lane:
    """One test's thread: which phase it is in, and a pending interruption."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.in_test = False  # set-up, body or tear-down of a test
        self.in_test_body = False
        self._lock = threading.Lock()
        self._pending: str | None = None
        self._woken = threading.Event()
        self._conditions: list[threading.Condition] = []

    def interrupt(self, message: str) -> None:
        """Make the lane's current or next wait raise `RunInterrupted(message)` (once)."""
        with self._lock:
            self._pending = message
            conditions = list(self._conditions)
        self._woken.set()
        for condition in conditions:
            with condition:
                condition.notify_all()

    def check(self) -> None:
        with self._lock:
            message, self._pending = self._pending, None
            if message is not None:
                self._woken.clear()
        if message is not None:
            raise RunInterrupted(message)

    @contextmanager
    def waiting_on(self, condition: threading.Condition) -> Iterator[None]:
        with self._lock:
            self._conditions.append(condition)
        try:
            yield
        finally:
            with self._lock:
                self._conditions.remove(condition)

    def sleep(self, seconds: float) -> None:
        self.check()
        self._woken.wait(max(seconds, 0.0))
        self.check()


_current = threading.local()


def current() -> Lane | None:
    """The lane of the calling thread, if it is one."""
    return getattr(_current, "lane", None)


@contextmanager
def running_on(lane: Lane) -> Iterator[Lane]:
    """Make `lane` the calling thread's lane for the block."""
    previous = current()
    _current.lane = lane
    try:
        yield lane
    finally:
        _current.lane = previous


def sleep(seconds: float) -> None:
    """`time.sleep`, which a lane's interruption ends at once."""
    lane = current()
    if lane is None:
        time.sleep(seconds)
    else:
        lane.sleep(seconds)
