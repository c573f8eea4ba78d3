"""The reachability watch: a blip the clients ride out is not an outage; an API unanswered for
its grace is, named with its cause."""

from __future__ import annotations

import threading

from harness.plugin.reachability_watch import ReachabilityWatch


class Probe:
    """Fails while `down` is set, with the cause given."""

    def __init__(self) -> None:
        self.down = threading.Event()

    def __call__(self) -> None:
        if self.down.is_set():
            raise ConnectionError("the fulfillment API at 127.0.0.1:1 is unreachable")


def _watch(probe: Probe, grace: float) -> tuple[ReachabilityWatch, list[str], threading.Event]:
    failures: list[str] = []
    told = threading.Event()

    def on_failure(message: str) -> None:
        failures.append(message)
        told.set()

    return ReachabilityWatch([probe], on_failure, interval=0.05, grace=grace), failures, told


def test_a_blip_shorter_than_the_grace_is_not_an_outage():
    probe = Probe()
    watch, failures, told = _watch(probe, grace=5.0)
    watch.start()
    try:
        probe.down.set()
        assert not told.wait(0.5)  # several failed rounds, all within the grace
        probe.down.clear()
        assert not told.wait(0.3)
    finally:
        watch.stop()
    assert failures == []


def test_an_api_unanswered_for_the_grace_is_an_outage_named_with_its_cause():
    probe = Probe()
    watch, failures, told = _watch(probe, grace=0.3)
    probe.down.set()
    watch.start()
    try:
        assert told.wait(10)
    finally:
        watch.stop()
    assert len(failures) == 1
    assert failures[0].startswith("the fulfillment API at 127.0.0.1:1 is unreachable (unanswered")
