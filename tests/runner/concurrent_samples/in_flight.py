"""Tests for tests/runner/test_concurrent_run.py, run by it in a child pytest (the file name does
not match test_*.py). None touches a cluster; each records who is in flight with it.

`RENDEZVOUS` tests wait for each other: they pass only when all of them are in flight at once.
The `exclusive` test and the `lock("window")` tests fail when they share a moment they must not.
"""

from __future__ import annotations

import threading
import time

import pytest

RENDEZVOUS = 4
_meeting = threading.Barrier(RENDEZVOUS, timeout=15)
_lock = threading.Lock()
_in_flight: set[str] = set()
_window: set[str] = set()


def _enter(name: str) -> set[str]:
    with _lock:
        others = set(_in_flight)
        _in_flight.add(name)
    return others


def _leave(name: str) -> None:
    with _lock:
        _in_flight.discard(name)


@pytest.mark.parametrize("n", range(RENDEZVOUS))
def test_rendezvous(n):
    _enter(f"rendezvous-{n}")
    try:
        _meeting.wait()
    finally:
        _leave(f"rendezvous-{n}")


@pytest.mark.exclusive("changes what every test sees")
def test_alone():
    others = _enter("alone")
    try:
        time.sleep(0.3)  # room for a wrongly started test to arrive
        with _lock:
            during = _in_flight - {"alone"}
    finally:
        _leave("alone")
    assert not others and not during, f"in flight with {sorted(others | during)}"


@pytest.mark.lock("window")
@pytest.mark.parametrize("n", range(3))
def test_quiet_window(n):
    name = f"window-{n}"
    _enter(name)
    with _lock:
        sharing = set(_window)
        _window.add(name)
    try:
        time.sleep(0.2)
    finally:
        with _lock:
            _window.discard(name)
        _leave(name)
    assert not sharing, f"{name} shared its window with {sorted(sharing)}"
