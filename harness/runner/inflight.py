"""Which tests may start now, when several run at once.

A test is in flight from the start of its set-up to the end of its tear-down; at most `limit`
are. A test that must not share a moment with any other says so (`exclusive`): it starts only
when nothing else is in flight, and nothing starts while it runs. Tests that name the same lock
never overlap; others run beside them. Exclusive tests go first (the pipeline is empty at the
start; waiting for it to drain later would cost a whole test's length each time), the rest in
collection order, skipping a test whose lock is held for the next one that may start.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

EXCLUSIVE_MARKER = "exclusive"
LOCK_MARKER = "lock"
MARKERS = (
    f"{EXCLUSIVE_MARKER}(reason): runs with no other test in flight (it changes or judges "
    "something every test shares)",
    f"{LOCK_MARKER}(name, ...): never in flight at the same time as another test that holds a "
    "lock of the same name",
)


@dataclass(frozen=True)
class Constraint:
    exclusive: bool = False
    locks: frozenset[str] = field(default_factory=frozenset)


class InFlight(Generic[T]):
    """The plan of one run; thread-safe."""

    def __init__(self, tests: Sequence[tuple[T, Constraint]], limit: int) -> None:
        if limit < 1:
            raise ValueError(f"at most {limit} tests in flight: need at least 1")
        self.limit = limit
        self._constraints = dict(tests)
        first = [test for test, constraint in tests if constraint.exclusive]
        self._pending = first + [test for test, constraint in tests if not constraint.exclusive]
        self._running: set[T] = set()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self.peak = 0  # most tests in flight at once

    def _may_start(self, test: T) -> bool:
        constraint = self._constraints[test]
        if len(self._running) >= self.limit:
            return False
        if any(self._constraints[other].exclusive for other in self._running):
            return False
        if constraint.exclusive and self._running:
            return False
        return not (constraint.locks & self._held)

    def startable(self, at_most: int | None = None) -> list[T]:
        """The tests to start now, in order; each is counted as in flight from here."""
        started: list[T] = []
        with self._lock:
            for test in list(self._pending):
                if at_most is not None and len(started) >= at_most:
                    break
                if not self._may_start(test):
                    if self._constraints[test].exclusive:
                        break  # it waits for the pipeline to drain; nothing overtakes it
                    continue
                self._pending.remove(test)
                self._running.add(test)
                self._held |= self._constraints[test].locks
                started.append(test)
            self.peak = max(self.peak, len(self._running))
        return started

    def finished(self, test: T) -> None:
        with self._lock:
            self._running.discard(test)
            self._held -= self._constraints[test].locks

    def stop(self) -> list[T]:
        """Start nothing more; returns the tests that will not run."""
        with self._lock:
            never, self._pending = self._pending, []
        return never

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    @property
    def done(self) -> bool:
        with self._lock:
            return not self._pending and not self._running
