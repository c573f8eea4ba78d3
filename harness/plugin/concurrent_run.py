"""The suites with several tests in flight at once, each on a thread of its own, in one process.

The suites mostly wait (for a VM to boot, a quiet window, a future-dated request, the next
second), so a run that starts every test it may at once costs about its longest test instead of
the sum. Registered by `harness.plugin.configure` when `--concurrency` is above 1 and the session
runs the suites without pytest-xdist. One stack (or cluster) serves every test; each test keeps
its own instances, timeline, fixtures, report and evidence (`isolation`, `thread_reporting`).

Scheduling (`harness.runner.inflight`): at most `--concurrency` tests in flight; a test marked
`exclusive` runs with nothing else in flight; tests marked `lock(NAME)` with the same name never
overlap. The first test runs alone until its set-up is done — it starts the session (the stack,
the connections, the environment's preflight), which every other test then finds ready, or
which stops the run with one error instead of one per test.

Signals, the deadline and a dead environment stop the run as in a serial run: no test starts
any more, and each running test is interrupted in its own thread (`harness.testkit.cancel`):
a test body at its next wait, set-up and tear-down only when the environment died.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from harness.clients.retries import LEDGER, RetryLedger
from harness.plugin.isolation import Isolation, supported
from harness.plugin.thread_reporting import ThreadReporting
from harness.runner.inflight import EXCLUSIVE_MARKER, LOCK_MARKER, Constraint, InFlight
from harness.testkit import cancel

POLL = 0.1  # seconds: how soon the runner notices a signal meant for the tests


def constraint_of(item: pytest.Item) -> Constraint:
    exclusive = item.get_closest_marker(EXCLUSIVE_MARKER) is not None
    names = frozenset(str(name) for mark in item.iter_markers(LOCK_MARKER) for name in mark.args)
    return Constraint(exclusive, names)


class _Lanes:
    """The running tests' lanes; what the interrupter hands over from its signal handler is
    only recorded there, and applied by the runner's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: set[cancel.Lane] = set()
        self._request: tuple[str, str | None] | None = None

    def interrupt(self, body_message: str, everywhere_message: str | None) -> None:
        self._request = (body_message, everywhere_message)  # signal-safe: no lock taken

    def add(self, lane: cancel.Lane) -> None:
        with self._lock:
            self._lanes.add(lane)

    def remove(self, lane: cancel.Lane) -> None:
        with self._lock:
            self._lanes.discard(lane)

    def apply(self) -> None:
        request, self._request = self._request, None
        if request is None:
            return
        body, everywhere = request
        with self._lock:
            lanes = list(self._lanes)
        for lane in lanes:
            if everywhere is not None and lane.in_test:
                lane.interrupt(everywhere)
            elif lane.in_test_body:
                lane.interrupt(body)


class ConcurrentRun:
    """pytest_runtestloop for tests in flight at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.peak = 0
        self._first_set_up = threading.Event()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return None  # pytest's own loop says so
        if session.config.option.collectonly or not session.items:
            return None
        unsupported = supported(session)
        if unsupported is not None:
            session.config.issue_config_time_warning(
                pytest.PytestWarning(f"running the tests one at a time: {unsupported}"), 2
            )
            return None
        self._run(session)
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self._first_set_up.set()

    def _run(self, session: pytest.Session) -> None:
        from harness.plugin.run_hooks import STATE_KEY

        interrupter = session.config.stash[STATE_KEY].interrupter
        plan = InFlight([(item, constraint_of(item)) for item in session.items], self.limit)
        lanes = _Lanes()
        errors: list[BaseException] = []
        threads: list[threading.Thread] = []
        wake = threading.Condition()
        names = (f"test-{n}" for n in itertools.count(1))
        isolation = Isolation(session)

        def run(item: pytest.Item, lane: cancel.Lane) -> None:
            with cancel.running_on(lane):
                LEDGER.bind(RetryLedger())
                try:
                    isolation.prepare(item)
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=None)
                except BaseException as error:  # pytest.exit (environment not ready), bugs
                    errors.append(error)
                finally:
                    LEDGER.bind(None)
                    lanes.remove(lane)
                    plan.finished(item)
                    self._first_set_up.set()  # a first test that ended without a report
                    with wake:
                        wake.notify_all()

        if interrupter is not None:
            interrupter.lanes = lanes
        try:
            with isolation, ThreadReporting(session.config):
                while not plan.done:
                    lanes.apply()
                    if session.shouldfail or session.shouldstop or errors:
                        isolation.setupstate.never_run(plan.stop())
                    for item in self._startable(plan):
                        lane = cancel.Lane(item.nodeid)
                        lanes.add(lane)
                        thread = threading.Thread(
                            target=run, args=(item, lane), name=next(names), daemon=True
                        )
                        threads.append(thread)
                        thread.start()
                    with wake:
                        wake.wait(POLL)
                for thread in threads:
                    thread.join()
        finally:
            if interrupter is not None:
                interrupter.lanes = None
            self.peak = plan.peak
        if errors:
            raise errors[0]
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)

    def _startable(self, plan: InFlight[pytest.Item]) -> list[pytest.Item]:
        if self._first_set_up.is_set():
            return plan.startable()
        return [] if plan.running else plan.startable(at_most=1)
