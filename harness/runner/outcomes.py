"""Per-test outcomes of a run, from pytest's reports (on the xdist controller too).

One outcome per collected test: passed, failed (the test's own assertion), error (set-up or
tear-down broke), skipped, not-run (never started: the deadline, or the run was stopped before
it), interrupted (cut off by SIGTERM/SIGINT while running; its objects were still cleaned up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped", "not-run", "interrupted")

# user_properties a report carries to say why a test did not (fully) run.
NOT_RUN_PROPERTY = "harness_not_run"
INTERRUPTED_PROPERTY = "harness_interrupted"


@dataclass
class OutcomeRecord:
    nodeid: str
    phases: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    reason: str | None = None
    not_run: bool = False
    interrupted: bool = False
    xfailed: bool = False

    @property
    def outcome(self) -> str:
        if self.not_run:
            return "not-run"
        if self.interrupted:
            return "interrupted"
        setup, call, teardown = (self.phases.get(p) for p in ("setup", "call", "teardown"))
        if setup == "failed":
            return "error"
        if call == "failed":
            return "failed"
        if teardown == "failed":
            return "error"
        if "skipped" in (setup, call) or self.xfailed:
            return "skipped"
        if call == "passed":
            return "passed"
        return "not-run"

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration_seconds": round(self.duration, 3),
        }
        if self.reason:
            entry["reason"] = self.reason
        return entry


def _skip_reason(longrepr: Any) -> str | None:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return None


class RunOutcomes:
    """Collects reports as they arrive; tests collected but never reported are not-run."""

    def __init__(self) -> None:
        self._records: dict[str, OutcomeRecord] = {}

    def collected(self, nodeids: Iterable[str]) -> None:
        for nodeid in nodeids:
            self._records.setdefault(nodeid, OutcomeRecord(nodeid))

    def record(self, report: Any) -> None:
        record = self._records.setdefault(report.nodeid, OutcomeRecord(report.nodeid))
        record.phases[report.when] = report.outcome
        record.duration += float(getattr(report, "duration", 0.0) or 0.0)
        properties = dict(getattr(report, "user_properties", []) or [])
        if NOT_RUN_PROPERTY in properties:
            record.not_run = True
            record.reason = str(properties[NOT_RUN_PROPERTY])
        elif INTERRUPTED_PROPERTY in properties:
            record.interrupted = True
            record.reason = str(properties[INTERRUPTED_PROPERTY])
        elif report.outcome == "skipped":
            record.xfailed = record.xfailed or bool(getattr(report, "wasxfail", None))
            record.reason = record.reason or _skip_reason(report.longrepr)
        elif report.outcome == "failed" and record.reason is None:
            record.reason = _first_line(report)

    def records(self) -> list[OutcomeRecord]:
        return sorted(self._records.values(), key=lambda record: record.nodeid)

    def counts(self) -> dict[str, int]:
        return count(record.outcome for record in self._records.values())


def count(outcomes: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    counts["total"] = sum(counts[name] for name in OUTCOMES)
    return counts


def _first_line(report: Any) -> str | None:
    text = str(getattr(report, "longreprtext", "") or "")
    for line in text.splitlines():
        if line.startswith("E "):
            return line[1:].strip()[:300]
    return None
