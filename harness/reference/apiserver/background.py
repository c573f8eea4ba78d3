"""The server's background work: steps its controllers queue from watch events and run soon
after, on the event loop, like the real controllers acting a moment after a write.

Steps are plain callables doing ordinary API writes. Before the loop runs (start-up),
`run_until_idle` does everything queued at once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

from harness.reference.apiserver.status_errors import ApiError

log = logging.getLogger("apiserver.background")
BATCH = 500


class WorkQueue:
    def __init__(self) -> None:
        self._queue: collections.deque[Callable[[], None]] = collections.deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._queue:
            self._schedule()

    @property
    def idle(self) -> bool:
        return not self._queue

    def push(self, task: Callable[[], None]) -> None:
        self._queue.append(task)
        self._schedule()

    def run_until_idle(self) -> None:
        """Process everything now (used at startup, before the loop serves)."""
        while self._queue:
            self._drain()

    def _schedule(self) -> None:
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        for _ in range(BATCH):
            if not self._queue:
                return
            task = self._queue.popleft()
            try:
                task()
            except ApiError as error:
                log.debug("background step skipped: %s", error.message)
            except Exception:
                log.exception("background step failed")
        if self._queue:
            self._schedule()
