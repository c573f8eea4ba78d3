"""Exit codes of the harness, documented in docs/results.md ("Exit codes").

0–5 keep pytest's own meanings so that a plain `pytest suites` and `python -m harness …` agree.
When several outcomes apply to one run, `harness.runner.verdict` picks the code (its docstring
and docs/results.md give the order).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    TESTS_FAILED = 1
    INTERRUPTED = 2
    HARNESS_ERROR = 3
    USAGE_ERROR = 4
    NO_TESTS = 5
    ENVIRONMENT_NOT_READY = 20
    LEAKED_OBJECTS = 21
    DEADLINE_REACHED = 22
