"""Cleanup overlapped with the next test.

A passing test's instances are deleted in its teardown, but waiting until they are gone (a
few hundred ms of the system under test's finalizing, per test) happens here, on a small thread
pool, while the next test runs. The verdict still belongs to the test that made the objects:
`finished()` and `drain()` hand back each test's leaks, and the plugin reports them against it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol


class Cleanable(Protocol):
    id: str

    def finish_cleanup(self, timeout: float, wait: bool = True) -> str | None: ...


@dataclass(frozen=True)
class CleanupVerdict:
    owner: Any  # whatever submitted the cleanup (the plugin passes the pytest item)
    leaks: list[str]


def finish_all(instances: Sequence[Cleanable], timeout: float) -> list[str]:
    """Wait for every instance's deletion (already requested); one leak description each."""
    leaks: list[str] = []
    for instance in instances:
        try:
            leak = instance.finish_cleanup(timeout)
        except Exception as error:  # a broken watch is a failed cleanup, not a crashed pool
            leak = f"waiting for instance {instance.id} to be deleted failed: {error!r}"
        if leak:
            leaks.append(leak)
    return leaks


class BackgroundCleanup:
    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cleanup")
        self._pending: list[tuple[Any, Future[list[str]]]] = []
        self._lock = threading.Lock()

    def submit(self, owner: Any, instances: Sequence[Cleanable], timeout: float) -> None:
        future = self._pool.submit(finish_all, list(instances), timeout)
        with self._lock:
            self._pending.append((owner, future))

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def finished(self) -> list[CleanupVerdict]:
        """The cleanups that have completed since the last call, leaky ones only."""
        with self._lock:
            done = [(owner, future) for owner, future in self._pending if future.done()]
            self._pending = [entry for entry in self._pending if not entry[1].done()]
        return [
            CleanupVerdict(owner, leaks) for owner, future in done if (leaks := future.result())
        ]

    def drain(self) -> list[CleanupVerdict]:
        """Wait for every cleanup (each is bounded by its own timeout), then stop the pool."""
        with self._lock:
            pending, self._pending = self._pending, []
        verdicts = [
            CleanupVerdict(owner, leaks) for owner, future in pending if (leaks := future.result())
        ]
        self._pool.shutdown(wait=True)
        return verdicts
