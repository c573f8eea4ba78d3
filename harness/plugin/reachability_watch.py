"""A cluster's APIs, watched while the session runs: when the Kubernetes API or the fulfillment
API stops answering mid-run, the run is told at once and ends as the environment, with the
cause, instead of its tests failing on transport errors a timeout later. A system under test
that stops working while both APIs answer is left to the tests to judge."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

INTERVAL = 2.0
# How long an API may stay unanswered before it is an outage rather than a blip the clients'
# retries ride out (a restarted port-forward, an API server's brief restart); the fulfillment
# client's retries span about as long.
GRACE = 10.0


class ReachabilityWatch:
    def __init__(
        self,
        probes: Sequence[Callable[[], object]],
        on_failure: Callable[[str], None],
        interval: float = INTERVAL,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probes = list(probes)
        self.on_failure = on_failure
        self.interval = interval
        self.grace = grace
        self.clock = clock
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reachability-watch", daemon=True)

    def start(self) -> ReachabilityWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(15)

    def _run(self) -> None:
        failing_since: float | None = None
        rounds = 0
        while not self._stopped.wait(self.interval):
            asked = self.clock()
            cause = self._first_failure()
            if cause is None:
                failing_since, rounds = None, 0
                continue
            failing_since = asked if failing_since is None else failing_since
            rounds += 1
            unanswered = self.clock() - failing_since
            if rounds >= 2 and unanswered >= self.grace and not self._stopped.is_set():
                self.on_failure(
                    f"{cause} (unanswered for {unanswered:.0f} s, asked {rounds} times)"
                )
                return

    def _first_failure(self) -> str | None:
        for probe in self.probes:
            try:
                probe()
            except Exception as error:  # each probe's error says which API and why
                return str(error)
        return None
