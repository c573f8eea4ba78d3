"""The run's pytest side: shards, deadline, SIGTERM, run ledger and leak sweep, summary.json.

Registered by `harness.plugin.configure`. Inert unless asked: without --shard, --deadline, a results
directory or a suite test using the `run_ledger` fixture, a pytest run behaves as before.

Processes: a plain run is one process that does everything. Under xdist, every worker selects
its shard, watches the deadline, handles signals and sweeps its own objects; the controller
collects the reports and what the workers hand over (`config.workeroutput`) and writes
summary.json and environment.json.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.config import ConfigError, Settings, parse_switch
from harness.evidence.redaction import Redactor, kubeconfig_secrets
from harness.exitcodes import ExitCode
from harness.filewrites import reason
from harness.plugin import write_guards
from harness.results import ResultsLayout
from harness.runner.deadline import (
    Deadline,
    DeadlineError,
    DeadlinePolicy,
    handed_on,
    resolve_deadline,
)
from harness.runner.environment import base_environment, system_under_test
from harness.runner.interrupt import Interrupter, RunInterrupted
from harness.runner.labels import RUN_ID_ENV, new_run_id, worker_id
from harness.runner.ledger import RunLedger
from harness.runner.outcomes import INTERRUPTED_PROPERTY, NOT_RUN_PROPERTY, RunOutcomes
from harness.runner.shard import Shard, ShardError, resolve_shard
from harness.runner.summary import build_summary, iso, write_json, write_summary
from harness.runner.verdict import RunFacts, decide

if TYPE_CHECKING:
    from harness.testkit.instance import HarnessContext

_OUTPUT = "harness_runner"  # key of what a worker hands over in config.workeroutput
_INPUT = "harness_runner"  # key of what the controller passes on in config.workerinput
KEEP_ENV = "HARNESS_KEEP_ON_FAILURE"


@dataclass
class RunState:
    run_id: str
    worker: str
    shard: Shard | None
    deadline: Deadline | None
    keep_on_failure: bool
    started: float = field(default_factory=time.time)
    outcomes: RunOutcomes = field(default_factory=RunOutcomes)
    policy: DeadlinePolicy | None = None
    interrupter: Interrupter | None = None
    collection_errors: int = 0
    deadline_skips: int = 0
    leaks: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    sweep_errors: list[str] = field(default_factory=list)
    found_environment: dict[str, Any] = field(default_factory=dict)
    interrupted_by: set[str] = field(default_factory=set)
    exit_code: int | None = None
    worker_exits: list[dict[str, Any]] = field(default_factory=list)
    # What reaches hooks that are not passed the config (`_SessionReports`): this session's own,
    # so two sessions in one process (pytester's in-process runs) never see each other's.
    reports: list[pytest.TestReport] = field(default_factory=list)
    exits: list[dict[str, Any]] = field(default_factory=list)
    # Files of the results layout the disk refused ({"path", "reason"}), this process's and,
    # on the xdist controller, its workers'.
    lost: list[dict[str, str]] = field(default_factory=list)

    def lose(self, path: Path, error: OSError, root: Path | None) -> None:
        shown = path.relative_to(root) if root and path.is_relative_to(root) else path
        self.lost.append({"path": str(shown), "reason": reason(error)})

    def handover(self) -> dict[str, Any]:
        reason = self.interrupter.reason if self.interrupter else None
        return {
            "leaks": self.leaks,
            "kept": self.kept,
            "sweep_errors": self.sweep_errors,
            "environment": self.found_environment,
            "interrupted_by": reason,
            "deadline_skips": self.deadline_skips,
            "exit": self.exits[-1] if self.exits else None,
            "lost": self.lost,
        }

    def take_over(self, handed: dict[str, Any]) -> None:
        self.leaks += handed.get("leaks") or []
        self.kept += handed.get("kept") or []
        self.sweep_errors += handed.get("sweep_errors") or []
        self.found_environment = self.found_environment or handed.get("environment") or {}
        self.deadline_skips += int(handed.get("deadline_skips") or 0)
        self.lost += handed.get("lost") or []
        if handed.get("interrupted_by"):
            self.interrupted_by.add(str(handed["interrupted_by"]))
        if handed.get("exit"):
            self.worker_exits.append(handed["exit"])


STATE_KEY = pytest.StashKey[RunState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption(
        "--shard",
        dest="harness_shard",
        default=None,
        metavar="INDEX/COUNT",
        help="run only this shard of the tests, chosen by a stable hash of each test id "
        "[env HARNESS_SHARD, or JOB_COMPLETION_INDEX with HARNESS_SHARD_COUNT]",
    )
    group.addoption(
        "--deadline",
        dest="harness_deadline",
        default=None,
        metavar="SECONDS",
        help="stop starting tests when they would not finish in time; mark them not-run "
        "[env HARNESS_DEADLINE; or a Job's activeDeadlineSeconds as HARNESS_JOB_DEADLINE]",
    )
    group.addoption(
        "--keep-on-failure",
        dest="harness_keep_on_failure",
        action="store_true",
        default=None,
        help="keep the objects of failing tests (others are still deleted) and print the "
        "commands that remove them [env HARNESS_KEEP_ON_FAILURE=1]",
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_controller(config: pytest.Config) -> bool:
    """The xdist controller: runs no tests itself."""
    return config.pluginmanager.hasplugin("dsession")


def _settings(config: pytest.Config) -> Settings | None:
    from harness.plugin.configure import SETTINGS_KEY

    return config.stash.get(SETTINGS_KEY, None)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # An xdist worker takes the run id and the absolute deadline its controller passed on, so
    # all processes of one run agree (and nothing leaks into other processes' environment).
    handed = getattr(config, "workerinput", {}).get(_INPUT) or {}
    environ = {**os.environ, **handed.get("environ", {})}
    try:
        shard = resolve_shard(config.getoption("harness_shard"), os.environ)
        deadline = resolve_deadline(config.getoption("harness_deadline"), environ, time.time())
        keep = config.getoption("harness_keep_on_failure") or parse_switch(
            os.environ.get(KEEP_ENV, ""), KEEP_ENV
        )
    except (ShardError, DeadlineError, ConfigError) as error:
        raise pytest.UsageError(str(error)) from None
    run_id = handed.get("run_id") or os.environ.get(RUN_ID_ENV) or new_run_id()
    state = RunState(run_id, worker_id(), shard, deadline, bool(keep))
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(_SessionReports(state), "harness-runner-reports")
    settings = _settings(config)
    root = settings.results_dir if settings else None

    def lose(path: Path, error: OSError) -> None:
        state.lose(path, error, root)

    write_guards.guard_junit(config, lose)
    write_guards.guard_allure(config, lose)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(config), "harness-runner-xdist")


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE_KEY]
    controller = _is_controller(config)

    def stop_session(reason: str) -> None:
        session.shouldstop = f"interrupted by {reason}"

    state.interrupter = Interrupter(stop_session, forwards_to_workers=controller)
    state.interrupter.install()
    if state.deadline is not None and not controller:
        settings = _settings(config)
        first = settings.restart_timeout if settings else 60.0
        state.policy = DeadlinePolicy(state.deadline, first)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.interrupter is not None:
        state.interrupter.uninstall()
    write_guards.unguard_allure(config)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    shard = config.stash[STATE_KEY].shard
    if shard is None:
        return
    selected = [item for item in items if shard.selects(item.nodeid)]
    deselected = [item for item in items if not shard.selects(item.nodeid)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash[STATE_KEY]
    state.outcomes.collected(item.nodeid for item in session.items)
    # The hard stop is armed once the tests are known (an interrupted collection reports
    # none); a deadline already too close is left to the refusals, which name each test.
    if state.policy is not None and state.interrupter is not None:
        delay = state.policy.deadline.stop_at - time.time()
        if delay > 0:
            state.interrupter.stop_at(delay)


class _SessionReports:
    """Hooks that are not passed the config, registered per config (`pytest_configure`): they
    keep what they see in that session's `RunState`."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            # Reaches every process that reports (the controller too).
            self.state.collection_errors += 1

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Also called for pytest.exit(): a worker's "environment not ready" must reach the
        controller, which xdist would otherwise report as an internal error."""
        value = excinfo.value
        if isinstance(value, pytest.exit.Exception) and value.returncode is not None:
            self.state.exits.append({"code": int(value.returncode), "message": str(value.msg)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The session's state takes them in pytest_sessionfinish.
        self.state.reports.append(report)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash[STATE_KEY]
    if state.policy is None:
        return
    refusal = state.policy.refusal(time.time())
    if refusal is not None:
        state.deadline_skips += 1
        item.user_properties.append((NOT_RUN_PROPERTY, refusal))
        pytest.skip(refusal)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    started = time.monotonic()
    interrupter = item.config.stash[STATE_KEY].interrupter
    if interrupter is not None:
        interrupter.in_test = True
    try:
        return (yield)
    finally:
        if interrupter is not None:
            interrupter.in_test = False
        state = item.config.stash[STATE_KEY]
        if state.policy is not None and not any(
            name == NOT_RUN_PROPERTY for name, _ in item.user_properties
        ):
            state.policy.observe(time.monotonic() - started)


def environment_failed(config: pytest.Config, message: str) -> None:
    """A component of the environment died under the run (from a watching thread): the run
    stops, every worker too, and ends "environment not ready" (20) naming it."""
    state = config.stash[STATE_KEY]
    text = f"environment failed: {message}"
    state.exits.append({"code": int(ExitCode.ENVIRONMENT_NOT_READY), "message": text})
    if _is_worker(config):
        # The controller passes SIGTERM on to the other workers; their stacks are healthy, but
        # a run whose environment broke is not judged further.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(os.getppid(), signal.SIGTERM)
    if state.interrupter is not None:
        state.interrupter.environment_failed(text)


def environment_has_failed(config: pytest.Config) -> bool:
    state = config.stash.get(STATE_KEY, None)
    return bool(state and state.interrupter and state.interrupter.environment_failure)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    interrupter = item.config.stash[STATE_KEY].interrupter
    if interrupter is not None:
        if interrupter.reason is not None:  # the signal came during this test's set-up
            raise RunInterrupted(f"interrupted by {interrupter.reason} before its body ran")
        interrupter.in_test_body = True
    try:
        return (yield)
    finally:
        if interrupter is not None:
            interrupter.in_test_body = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, RunInterrupted):
        message = str(call.excinfo.value)
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {message}")
        report.user_properties.append((INTERRUPTED_PROPERTY, message))
    return report


@pytest.fixture(scope="session")
def run_ledger(pytestconfig: pytest.Config, harness_context: HarnessContext) -> Iterator[RunLedger]:
    """The instances this process creates, labelled with the run, worker and test; at the end
    of the session, the sweep for anything of them left."""
    state = pytestconfig.stash[STATE_KEY]
    ledger = RunLedger(state.run_id, state.worker, state.keep_on_failure)
    state.found_environment = system_under_test(harness_context.kube, harness_context.settings)
    yield ledger
    settings = harness_context.settings
    if environment_has_failed(pytestconfig):
        # What there was to sweep went with the embedded stack, and a dead API cannot be swept.
        if not settings.embedded:
            state.sweep_errors.append(
                f"{state.worker}: not swept, the environment failed: instances of run "
                f"{state.run_id} may remain in namespace {settings.namespace}"
            )
        if _is_worker(pytestconfig):
            pytestconfig.workeroutput[_OUTPUT] = state.handover()  # type: ignore[attr-defined]
        return
    grace = min(30.0, settings.provision_timeout)
    if state.deadline is not None:
        grace = max(1.0, min(grace, state.deadline.at - time.time() - 2.0))
    from harness.runner.sweep import Sweep

    try:
        sweep = Sweep(harness_context.kube, settings.profile, settings.namespace, ledger)
        result = sweep.run(grace)
        state.leaks += result.leaks
        state.kept += result.kept
    except Exception as error:  # reported, never hidden; the run's results are still written
        state.sweep_errors.append(f"{state.worker}: {type(error).__name__}: {error}")
    if _is_worker(pytestconfig):
        pytestconfig.workeroutput[_OUTPUT] = state.handover()  # type: ignore[attr-defined]


class _XdistController:
    """xdist's hooks, registered only where xdist is installed (unknown hooks are an error)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        state = self.config.stash[STATE_KEY]
        node.workerinput[_INPUT] = {
            "run_id": state.run_id,
            "environ": handed_on(state.deadline) if state.deadline else {},
        }

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.config.stash[STATE_KEY].outcomes.collected(ids)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        handed = getattr(node, "workeroutput", {}).get(_OUTPUT)
        if handed:
            self.config.stash[STATE_KEY].take_over(handed)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    # Runs around everyone else's sessionfinish: after the fixtures' teardown (the sweep) and
    # the worker's handover, before the terminal summary.
    result = yield
    config = session.config
    state = config.stash[STATE_KEY]
    if _is_worker(config):
        handed = config.workeroutput.setdefault(_OUTPUT, state.handover())  # type: ignore[attr-defined]
        handed["lost"] = state.lost  # also what the disk refused after the sweep's handover
        return result
    _finish(session, state)
    return result


def _finish(session: pytest.Session, state: RunState) -> None:
    config = session.config
    for report in state.reports:
        state.outcomes.record(report)
    state.reports.clear()
    if state.interrupter is not None and state.interrupter.reason:
        state.interrupted_by.add(state.interrupter.reason)
    signals = sorted(state.interrupted_by - {"deadline"})
    deadline_reached = bool(state.deadline_skips) or "deadline" in state.interrupted_by
    records = state.outcomes.records()
    for record in records:
        if record.outcome == "not-run" and record.reason is None and not record.phases:
            if signals:
                record.reason = f"not run: interrupted by {signals[0]}"
            elif deadline_reached:
                record.reason = "not run: the deadline was reached"
    tests = [record.as_json() for record in records]
    counts = state.outcomes.counts()
    pytest_code = int(session.exitstatus)
    not_ready = [
        e for e in state.worker_exits + state.exits if e["code"] == ExitCode.ENVIRONMENT_NOT_READY
    ]
    if not_ready and pytest_code != ExitCode.ENVIRONMENT_NOT_READY:
        # A worker stopped with "environment not ready"; xdist reports that as its own crash.
        pytest_code = int(ExitCode.ENVIRONMENT_NOT_READY)
        session.exitstatus = pytest_code
        sys.stderr.write(f"{not_ready[0]['message']}\n")
    message = (not_ready or state.worker_exits or state.exits or [{}])[0].get("message")
    settings = _settings(config)
    results_dir = settings.results_dir if settings else None
    layout = ResultsLayout(results_dir) if results_dir is not None else None
    redactor = _redactor(settings)
    if layout is not None:
        # Before the verdict, which a refused write changes.
        environment = base_environment(settings)
        environment.update(state.found_environment)
        environment["run_id"] = state.run_id
        _write_or_lose(state, layout, layout.environment, redactor.object(environment))
    facts = RunFacts(
        pytest_exit_code=pytest_code,
        counts=counts,
        leaks=len(state.leaks),
        interrupted=bool(signals),
        deadline_reached=deadline_reached,
        collection_errors=state.collection_errors,
        results_lost=bool(state.lost),
    )
    code = decide(facts)
    if layout is not None or state.leaks or deadline_reached or state.lost:
        session.exitstatus = code
    state.exit_code = int(code)
    if state.lost and not not_ready:
        message = lost_message(state.lost, results_dir)
        sys.stderr.write(f"{message}\n")
    if layout is None:
        return
    if state.lost:
        write_guards.remove_partial_files(layout)
    deadline = None
    if state.deadline is not None:
        deadline = {
            "seconds": round(state.deadline.total, 3),
            "source": state.deadline.source,
            "at": iso(state.deadline.at),
            "reached": deadline_reached,
            "not_run": counts["not-run"] if deadline_reached else 0,
        }
    summary = build_summary(
        run_id=state.run_id,
        tests=tests,
        exit_code=code,
        pytest_exit_code=pytest_code,
        started=state.started,
        finished=time.time(),
        shard=state.shard.as_json() if state.shard else None,
        deadline=deadline,
        interrupted_by=signals[0] if signals else None,
        leaks=state.leaks,
        kept=state.kept,
    )
    summary["sweep_errors"] = state.sweep_errors
    summary["message"] = message
    summary["lost"] = state.lost
    try:
        write_summary(layout.summary, redactor.object(summary))
    except OSError as error:  # not even the smallest summary fits: the exit code still says it
        state.lose(layout.summary, error, layout.root)
        state.exit_code = session.exitstatus = int(ExitCode.ENVIRONMENT_NOT_READY)
        sys.stderr.write(f"{lost_message(state.lost[-1:], layout.root)}\n")


def _write_or_lose(state: RunState, layout: ResultsLayout, path: Path, data: Any) -> None:
    try:
        write_json(path, data)
    except OSError as error:
        state.lose(path, error, layout.root)


def lost_message(lost: list[dict[str, str]], root: Path | None) -> str:
    """The one line for results the disk refused."""
    reasons = sorted({item["reason"] for item in lost})
    where = f" of the results in {root}" if root else ""
    first = lost[0]["path"]
    more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
    return (
        f"environment not ready: the disk refused {first}{more}{where} ({', '.join(reasons)}); "
        "free space or choose another --results-dir"
    )


def _redactor(settings: Settings | None) -> Redactor:
    """Failure reasons and what was read of the cluster never carry a token into results/."""
    if settings is None:
        return Redactor()
    return Redactor(
        [settings.api_token, settings.admin_token, *kubeconfig_secrets(settings.kubeconfig)]
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or _is_worker(config):
        return
    write = terminalreporter.line
    if state.leaks:
        terminalreporter.section("leaked objects (left after the tests' own cleanup)")
        for leak in state.leaks:
            removed = "removed by the sweep" if leak.get("removed") else "NOT removed"
            write(
                f"{leak['kind']} {leak['namespace']}/{leak['name']} of {leak['test']} "
                f"[{leak['worker']}]: {removed}"
            )
    if state.kept:
        terminalreporter.section("kept for failing tests (--keep-on-failure); remove with")
        for item in state.kept:
            write(f"{item['command']}    # {item['test']}")
    for error in state.sweep_errors:
        write(f"leak sweep failed: {error}", red=True)
    code = state.exit_code
    settings = _settings(config)
    if settings is not None and settings.results_dir is not None and code is not None:
        write(f"results: {settings.results_dir} (exit code {code}: {ExitCode(code).name})")
