"""The kill matrix of `python -m harness mutants`: suite results per controller, and verdicts.

One row per controller run: the unmutated reference must pass every test; each mutant must
fail at least one test (it is "killed"), and among them the test its docstring names. A row
whose run could not be carried out (the stack did not start, pytest crashed) is an error, never
a kill.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.exitcodes import ExitCode

REFERENCE = "reference"


@dataclass(frozen=True)
class MutantInfo:
    """A gallery entry as the controller describes it (`--list-mutants`)."""

    name: str
    deviation: str
    breaks: str
    killed_by: str


@dataclass(frozen=True)
class CaseOutcome:
    nodeid: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""

    @property
    def first_line(self) -> str:
        return first_line(self.message)


_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Timeout|Exception)): ")


def first_line(message: str) -> str:
    """The first non-empty line; `AssertionError: ` dropped, `harness.testkit.waits.WaitTimeout: `
    shortened to `WaitTimeout: `."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    match = _EXCEPTION.match(line)
    if match:
        rest = line[match.end() :]
        line = rest if match.group(1) == "AssertionError" else f"{match.group(1)}: {rest}"
    return line


def parse_junit(path: Path) -> list[CaseOutcome]:
    """Test outcomes from pytest's JUnit XML (`--junitxml`)."""
    outcomes = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = str(case.get("classname") or "")
        nodeid = f"{module.replace('.', '/')}.py::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = str(element.get("message") or element.text or "")
                break
        outcomes.append(CaseOutcome(nodeid, outcome, message))
    return outcomes


class Verdict(enum.Enum):
    PASSED = "passed"  # the reference: every test passed
    REFERENCE_FAILED = "REFERENCE FAILED"  # the reference broke a test: the suite is unsound
    KILLED = "killed"  # a mutant failed tests, its intended one among them
    KILLED_ELSEWHERE = "NOT KILLED BY ITS INTENDED TEST"
    SURVIVED = "SURVIVED"  # no test failed
    # No test failed, but the intended test was skipped in this profile/mode (its reason is
    # shown): the suites cannot judge this mutant here; reported, not a failure of the run.
    NOT_JUDGED = "not judged"
    ERROR = "ERROR"  # the run could not be carried out

    @property
    def ok(self) -> bool:
        return self in (Verdict.PASSED, Verdict.KILLED, Verdict.NOT_JUDGED)


@dataclass
class Row:
    name: str
    info: MutantInfo | None  # None for the reference
    outcomes: list[CaseOutcome] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if o.outcome in ("failed", "error")]

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def killed_by_intended(self) -> bool:
        if self.info is None:
            return False
        return any(_same_test(o.nodeid, self.info.killed_by) for o in self.failed)

    @property
    def intended_skip(self) -> str | None:
        """Why the intended test was skipped in this run, if it was."""
        if self.info is None:
            return None
        for outcome in self.outcomes:
            if outcome.outcome == "skipped" and _same_test(outcome.nodeid, self.info.killed_by):
                return outcome.message or "skipped"
        return None

    @property
    def verdict(self) -> Verdict:
        if self.error or not self.outcomes:
            return Verdict.ERROR
        if self.info is None:
            return Verdict.REFERENCE_FAILED if self.failed else Verdict.PASSED
        if self.killed_by_intended:
            return Verdict.KILLED
        if self.intended_skip is not None and not self.failed:
            return Verdict.NOT_JUDGED
        return Verdict.KILLED_ELSEWHERE if self.failed else Verdict.SURVIVED

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            **(self.info.__dict__ if self.info else {}),
            "killed_by_intended": self.killed_by_intended,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "counts": {k: self.count(k) for k in ("passed", "failed", "error", "skipped")},
            "failed": [
                {"test": o.nodeid, "first_line": o.first_line, "message": o.message}
                for o in self.failed
            ],
        }


def _same_test(nodeid: str, wanted: str) -> bool:
    """`wanted` names a test function; a parametrized case of it counts."""
    return nodeid == wanted or nodeid.startswith(wanted + "[")


def _short(nodeid: str) -> str:
    return nodeid.removeprefix("suites/")


def render(rows: list[Row], width: int = 160) -> str:
    lines = []
    for row in rows:
        head = f"{row.name}: {row.verdict.value}"
        tally = (
            f"{row.count('passed')} passed, {len(row.failed)} failed, "
            f"{row.count('skipped')} skipped, {row.seconds:.0f} s"
        )
        if row.info is None:
            lines.append(f"{head} (unmutated controller; {tally})")
        else:
            intended = "yes" if row.killed_by_intended else "NO"
            lines.append(f"{head} — {row.info.deviation} ({tally})")
            lines.append(f"  breaks {row.info.breaks}")
            lines.append(f"  intended: {_short(row.info.killed_by)} — killed by it: {intended}")
            if row.intended_skip is not None:
                lines.append(f"  the intended test was skipped here: {row.intended_skip}")
        if row.error:
            lines.append(f"  error: {row.error}")
        for outcome in row.failed:
            mark = (
                "*"
                if row.info is not None and _same_test(outcome.nodeid, row.info.killed_by)
                else "-"
            )
            text = f"  {mark} {_short(outcome.nodeid)}: {outcome.first_line}"
            lines.append(text if len(text) <= width else text[: width - 1] + "…")
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    mutants = [row for row in rows if row.info is not None]
    by = {verdict: sum(1 for row in mutants if row.verdict is verdict) for verdict in Verdict}
    reference = next((row for row in rows if row.info is None), None)
    parts = [
        f"{len(mutants)} mutants: {by[Verdict.KILLED]} killed by their intended test",
        f"{by[Verdict.KILLED_ELSEWHERE]} killed only by other tests",
        f"{by[Verdict.SURVIVED]} survived",
        f"{by[Verdict.NOT_JUDGED]} not judged (intended test skipped here)",
        f"{by[Verdict.ERROR]} could not run",
    ]
    if reference is not None:
        parts.append(f"unmutated controller {reference.verdict.value}")
    return "; ".join(parts)


def exit_code(rows: list[Row]) -> ExitCode:
    """3 if a run could not be carried out; 1 if a mutant survived or escaped its intended test
    or the unmutated controller failed; else 0."""
    if any(row.verdict is Verdict.ERROR for row in rows):
        return ExitCode.HARNESS_ERROR
    return ExitCode.PASSED if all(row.verdict.ok for row in rows) else ExitCode.TESTS_FAILED
