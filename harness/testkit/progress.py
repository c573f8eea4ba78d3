"""Live progress of long waits: what is awaited, for how long so far, against which limit.

`waiting(what, limit)` marks a wait; a `Ticker` (started by the pytest plugin) shows the
current one every few seconds — a line refreshed in place on an interactive terminal, or a
log record where nobody watches a terminal (CI, pytest-xdist workers). A line shown on the
terminal is cleared the moment its wait ends, before the test writes anything else.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger("harness.progress")
log.setLevel(logging.INFO)  # kept by pytest's log capture (shown under a failure) by default

SHOW_AFTER = 2.0  # seconds: shorter waits are not worth a line


@dataclass(frozen=True)
class Wait:
    what: str
    limit: float
    started: float = field(default_factory=time.monotonic)

    def line(self, now: float) -> str:
        return f"waiting {now - self.started:.0f}/{self.limit:.0f} s for {self.what}"


class Ticker:
    """Every `interval` seconds, hand the current wait's line to `show`; `clear` when a wait
    that was shown ends."""

    def __init__(
        self,
        show: Callable[[str], None],
        clear: Callable[[], None] = lambda: None,
        interval: float = 3.0,
    ) -> None:
        self.show = show
        self.clear = clear
        self.interval = interval
        self._lock = threading.Lock()
        self._waits: list[Wait] = []
        self._shown: Wait | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harness-progress", daemon=True)

    def start(self) -> Ticker:
        _active.append(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            self._clear_shown()

    def begin(self, wait: Wait) -> None:
        with self._lock:
            self._waits.append(wait)

    def end(self, wait: Wait) -> None:
        with self._lock:
            self._waits.remove(wait)
            if self._shown is wait:
                self._clear_shown()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = self._waits[-1] if self._waits else None
            if wait is None or now - wait.started < SHOW_AFTER:
                return
            with contextlib.suppress(Exception):  # progress must never break a run
                self.show(wait.line(now))
                self._shown = wait

    def _clear_shown(self) -> None:
        if self._shown is not None:
            self._shown = None
            with contextlib.suppress(Exception):
                self.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()


_active: list[Ticker] = []  # the session's ticker, if any


@contextlib.contextmanager
def waiting(what: str, limit: float) -> Iterator[Wait]:
    wait = Wait(what, limit)
    ticker = _active[-1] if _active else None
    if ticker is not None:
        ticker.begin(wait)
    try:
        yield wait
    finally:
        if ticker is not None:
            ticker.end(wait)


def log_line(text: str) -> None:
    log.info("%s", text)
