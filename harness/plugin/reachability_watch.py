"""A cluster's APIs, watched while the session runs: when the Kubernetes API or the fulfillment
API stops answering mid-run, the run is told at once and ends as the environment, with the
cause, instead of its tests failing on transport errors a timeout later. A system under test
that stops working while both APIs answer is left to the tests to judge."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

INTERVAL = 2.0
# One failed round can be a blip the clients' retries ride out; two in a row are an outage.
CONFIRMATIONS = 2


class ReachabilityWatch:
    def __init__(
        self,
        probes: Sequence[Callable[[], object]],
        on_failure: Callable[[str], None],
        interval: float = INTERVAL,
        confirmations: int = CONFIRMATIONS,
    ) -> None:
        self.probes = list(probes)
        self.on_failure = on_failure
        self.interval = interval
        self.confirmations = confirmations
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
        failed_rounds = 0
        while not self._stopped.wait(self.interval):
            cause = self._first_failure()
            failed_rounds = failed_rounds + 1 if cause else 0
            if cause and failed_rounds >= self.confirmations and not self._stopped.is_set():
                self.on_failure(
                    f"{cause} (asked {failed_rounds} times, {self.interval:.0f} s apart)"
                )
                return

    def _first_failure(self) -> str | None:
        for probe in self.probes:
            try:
                probe()
            except Exception as error:  # each probe's error says which API and why
                return str(error)
        return None
