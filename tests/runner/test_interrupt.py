"""SIGTERM in a process that runs tests: the running test is interrupted, wherever it is."""

from __future__ import annotations

import os
import signal
import time

import pytest

from harness.runner.interrupt import Interrupter, RunInterrupted


@pytest.fixture
def interrupter():
    stops = []
    interrupter = Interrupter(stops.append, forwards_to_workers=False)
    interrupter.install()
    interrupter.stops = stops
    yield interrupter
    interrupter.uninstall()


def test_an_interrupt_passes_through_code_that_handles_every_error(interrupter):
    """A test body inside `except Exception` (an optional lookup that tolerates failure) is
    still interrupted: otherwise it would go on creating objects after the run was stopped."""
    interrupter.in_test_body = True
    with pytest.raises(RunInterrupted, match="interrupted by SIGTERM"):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except Exception:  # the point of the test
            pytest.fail("RunInterrupted was caught by `except Exception`")
    assert interrupter.stops == ["SIGTERM"] and interrupter.reason == "SIGTERM"


def test_outside_a_test_body_an_interrupt_only_stops_the_session(interrupter):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    assert interrupter.stops == ["SIGTERM"]
    os.kill(os.getpid(), signal.SIGTERM)  # later signals are ignored: cleanup is under way
    time.sleep(0.05)
    assert interrupter.stops == ["SIGTERM"]
