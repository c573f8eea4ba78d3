"""Live progress of long waits."""

from __future__ import annotations

from harness.testkit import progress


def test_a_long_wait_is_shown_with_elapsed_and_limit_and_cleared_when_it_ends():
    shown, cleared = [], []
    ticker = progress.Ticker(shown.append, lambda: cleared.append(True), interval=3600).start()
    try:
        with progress.waiting("a Running VMI", 60) as wait:
            ticker.tick(wait.started + 1.0)  # too short to be worth a line
            assert shown == []
            ticker.tick(wait.started + 12.4)
            assert shown == ["waiting 12/60 s for a Running VMI"]
            assert cleared == []
        assert cleared == [True]
        ticker.tick()
        assert len(shown) == 1  # nothing awaited, nothing shown
    finally:
        ticker.stop()


def test_waits_without_a_ticker_cost_nothing_and_nest():
    with progress.waiting("outer", 10), progress.waiting("inner", 5) as inner:
        assert inner.what == "inner"
