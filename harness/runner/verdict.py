"""One verdict and one exit code for a run, from everything it saw.

When several outcomes apply, the first in this order wins (docs/results.md, "Exit codes"):
usage error 4, environment not ready 20 (also: the disk refused some of the results), harness
error 3 (also: the suites did not collect), tests failed 1, leaked objects 21, interrupted 2,
deadline reached 22, no tests 5, passed 0. A contract break is the most important news; a leak
outranks an interruption because it leaves work for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.exitcodes import ExitCode

VERDICTS = {
    ExitCode.PASSED: "passed",
    ExitCode.TESTS_FAILED: "failed",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.HARNESS_ERROR: "harness-error",
    ExitCode.USAGE_ERROR: "usage-error",
    ExitCode.NO_TESTS: "no-tests",
    ExitCode.ENVIRONMENT_NOT_READY: "environment-not-ready",
    ExitCode.LEAKED_OBJECTS: "leaked-objects",
    ExitCode.DEADLINE_REACHED: "deadline-reached",
}


@dataclass(frozen=True)
class RunFacts:
    pytest_exit_code: int
    counts: Mapping[str, int]
    leaks: int = 0
    interrupted: bool = False  # by a signal (SIGTERM/SIGINT)
    deadline_reached: bool = False  # tests not started, or one stopped, for the deadline
    collection_errors: int = 0
    results_lost: bool = False  # the disk refused some of the results (full, read-only)


def decide(facts: RunFacts) -> ExitCode:
    code = facts.pytest_exit_code
    if code == ExitCode.USAGE_ERROR:
        return ExitCode.USAGE_ERROR
    if code == ExitCode.ENVIRONMENT_NOT_READY or facts.results_lost:
        return ExitCode.ENVIRONMENT_NOT_READY
    if code == ExitCode.HARNESS_ERROR or code not in VERDICTS or facts.collection_errors:
        return ExitCode.HARNESS_ERROR
    if facts.counts.get("failed", 0) or facts.counts.get("error", 0):
        return ExitCode.TESTS_FAILED
    if facts.leaks:
        return ExitCode.LEAKED_OBJECTS
    if facts.interrupted:
        return ExitCode.INTERRUPTED
    if facts.deadline_reached:
        return ExitCode.DEADLINE_REACHED
    if code == ExitCode.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if code == ExitCode.TESTS_FAILED:
        return ExitCode.TESTS_FAILED  # pytest saw a failure we have no report of
    if not facts.counts.get("total", 0) or code == ExitCode.NO_TESTS:
        return ExitCode.NO_TESTS
    if facts.counts.get("passed", 0) == 0 and facts.counts.get("skipped", 0) == 0:
        return ExitCode.NO_TESTS
    return ExitCode.PASSED


def verdict_of(code: int) -> str:
    try:
        return VERDICTS[ExitCode(code)]
    except ValueError:
        return "harness-error"
