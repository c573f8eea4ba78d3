"""Checks and their findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.doctor.context import DoctorContext

PASS = "pass"
WARN = "warn"
FAIL = "fail"
SKIP = "skip"
VERDICTS = (PASS, WARN, FAIL, SKIP)


@dataclass(frozen=True)
class Finding:
    id: str
    verdict: str
    evidence: str
    fix: str = ""
    blocking: bool = True

    @property
    def blocks(self) -> bool:
        """Whether this finding makes the environment not ready."""
        return self.blocking and self.verdict == FAIL

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Outcome:
    """What a check function returns before the runner stamps its id and blocking flag."""

    def __init__(
        self, verdict: str, evidence: str, fix: str = "", blocking: bool | None = None
    ) -> None:
        self.verdict = verdict
        self.evidence = evidence
        self.fix = fix
        # None: as the check says; True or False: this outcome decides.
        self.blocking = blocking


def passed(evidence: str) -> Outcome:
    return Outcome(PASS, evidence)


def warned(evidence: str, fix: str) -> Outcome:
    return Outcome(WARN, evidence, fix)


def failed(evidence: str, fix: str, blocking: bool | None = None) -> Outcome:
    return Outcome(FAIL, evidence, fix, blocking)


def skipped(evidence: str) -> Outcome:
    return Outcome(SKIP, evidence)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: Callable[[DoctorContext], Outcome]
    blocking: bool = True
    # Ids of checks that must have passed (or warned) for this one to mean anything.
    needs: tuple[str, ...] = ()
