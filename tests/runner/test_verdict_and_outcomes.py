"""One verdict per run: which exit code wins, and how reports become outcomes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.exitcodes import ExitCode
from harness.runner.outcomes import INTERRUPTED_PROPERTY, NOT_RUN_PROPERTY, RunOutcomes, count
from harness.runner.verdict import RunFacts, decide, verdict_of

PASSED = count(["passed", "passed"])
FAILED = count(["passed", "failed"])


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (RunFacts(0, PASSED), ExitCode.PASSED),
        (RunFacts(1, FAILED), ExitCode.TESTS_FAILED),
        (RunFacts(1, FAILED, leaks=2), ExitCode.TESTS_FAILED),
        (RunFacts(0, PASSED, leaks=1), ExitCode.LEAKED_OBJECTS),
        (RunFacts(2, PASSED, leaks=1, interrupted=True), ExitCode.LEAKED_OBJECTS),
        (RunFacts(2, count(["passed", "interrupted"]), interrupted=True), ExitCode.INTERRUPTED),
        (RunFacts(0, count(["not-run"]), deadline_reached=True), ExitCode.DEADLINE_REACHED),
        (RunFacts(2, count(["interrupted"]), deadline_reached=True), ExitCode.DEADLINE_REACHED),
        (RunFacts(20, count([])), ExitCode.ENVIRONMENT_NOT_READY),
        (RunFacts(4, count([])), ExitCode.USAGE_ERROR),
        (RunFacts(0, PASSED, collection_errors=1), ExitCode.HARNESS_ERROR),
        (RunFacts(3, FAILED), ExitCode.HARNESS_ERROR),
        (RunFacts(-9, PASSED), ExitCode.HARNESS_ERROR),
        (RunFacts(5, count([])), ExitCode.NO_TESTS),
        (RunFacts(0, count(["not-run"])), ExitCode.NO_TESTS),
    ],
)
def test_the_first_outcome_in_the_documented_order_wins(facts, expected):
    assert decide(facts) == expected


def test_every_exit_code_has_a_verdict():
    verdicts = {verdict_of(code) for code in ExitCode}
    assert verdicts >= {"passed", "leaked-objects", "deadline-reached"}
    assert verdict_of(77) == "harness-error"


def report(nodeid, when, outcome, props=(), longrepr=None, duration=1.0, **extra):
    return SimpleNamespace(
        nodeid=nodeid,
        when=when,
        outcome=outcome,
        user_properties=list(props),
        longrepr=longrepr,
        duration=duration,
        longreprtext="E   AssertionError: the VMI was not replaced\nmore",
        **extra,
    )


def test_reports_become_one_outcome_per_collected_test():
    outcomes = RunOutcomes()
    outcomes.collected(["a", "b", "c", "d", "e", "f", "g"])
    for when in ("setup", "call", "teardown"):
        outcomes.record(report("a", when, "passed"))
    outcomes.record(report("b", "setup", "passed"))
    outcomes.record(report("b", "call", "failed"))
    outcomes.record(report("c", "setup", "failed"))
    outcomes.record(report("d", "setup", "skipped", longrepr=("f", 1, "Skipped: embedded only")))
    outcomes.record(report("e", "setup", "skipped", [(NOT_RUN_PROPERTY, "not run: deadline")]))
    outcomes.record(report("f", "setup", "passed"))
    outcomes.record(report("f", "call", "skipped", [(INTERRUPTED_PROPERTY, "by SIGTERM")]))
    by_id = {r.nodeid: r.as_json() for r in outcomes.records()}
    assert {k: v["outcome"] for k, v in by_id.items()} == {
        "a": "passed",
        "b": "failed",
        "c": "error",
        "d": "skipped",
        "e": "not-run",
        "f": "interrupted",
        "g": "not-run",
    }
    assert by_id["a"]["duration_seconds"] == 3.0
    assert by_id["b"]["reason"] == "AssertionError: the VMI was not replaced"
    assert by_id["d"]["reason"] == "embedded only"
    assert by_id["e"]["reason"] == "not run: deadline"
    assert outcomes.counts() == {
        "passed": 1,
        "failed": 1,
        "error": 1,
        "skipped": 1,
        "not-run": 2,
        "interrupted": 1,
        "total": 7,
    }
