"""Watch-based waiting with explanations.

A wait blocks on the test's Timeline (fed by watches), never on a timer. When it gives up it
says what it waited for, for how long, and the last state it saw of every object involved —
so a red test reads "waited 60 s for a new VMI Running; last seen: VMI uid 1a2b… phase
Scheduling at +57.1 s", not "TimeoutError".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from harness.testkit.progress import waiting
from harness.testkit.timeline import Timeline

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The system under test did not reach the awaited state in time (a test failure)."""


def wait_until(
    timeline: Timeline,
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    last_seen: Callable[[], str],
) -> T:
    __tracebackhide__ = True
    with waiting(what, timeout):
        result = timeline.wait(check, timeout)
    if not result:
        raise WaitTimeout(f"waited {timeout:.0f} s for {what}; last seen: {last_seen()}")
    return result


def judge(
    outcome: T | str | None,
    timeout: float,
    what: str,
    why_not: Callable[[], str],
    last_seen: Callable[[], str],
) -> T:
    """The end of a judging wait, whose check returns a violation (a string naming the clause)
    the moment the history breaks the contract: fail with it at once; on a timeout say why the
    awaited state did not come, then what was last seen."""
    __tracebackhide__ = True
    if isinstance(outcome, str):
        raise AssertionError(f"{outcome}; {last_seen()}")
    if not outcome:
        raise WaitTimeout(
            f"{why_not()} — waited {timeout:.0f} s for {what}; last seen: {last_seen()}"
        )
    return outcome


def wait_for_server_time(
    server_now: Callable[[], datetime], moment: datetime, limit: float = 300.0
) -> datetime:
    """Block until the API server's clock (1 s resolution) is past `moment`.

    For future-dated requests: the system under test judges time by the server, so the harness
    does too. Sleeps only as long as the server says is left; never a fixed pause."""
    __tracebackhide__ = True
    deadline = time.monotonic() + limit
    with waiting(f"the API server's clock to pass {moment}", limit):
        return _wait_for_server_time(server_now, moment, deadline, limit)


def _wait_for_server_time(
    server_now: Callable[[], datetime], moment: datetime, deadline: float, limit: float
) -> datetime:
    __tracebackhide__ = True
    while True:
        now = server_now()
        if now > moment:
            return now
        left = (moment - now).total_seconds()
        if time.monotonic() + left > deadline:
            raise WaitTimeout(
                f"the API server's clock ({now}) will not pass {moment} within {limit:.0f} s"
            )
        time.sleep(min(max(left, 0.0), 1.0) + 0.05)
