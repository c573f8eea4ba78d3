"""Deadline awareness: stop starting tests when too little time is left.

The deadline comes from `--deadline SECONDS` / `HARNESS_DEADLINE` (from the start of the run),
or from a Kubernetes Job's `activeDeadlineSeconds` given as `HARNESS_JOB_DEADLINE` (less a margin
for the pod's start and the export of the results, since the Job's clock started before ours).
A reserve at the end is kept for cleanup, the leak sweep and writing the results: a test starts
only when its estimated duration fits before the reserve, and a test still running when the
reserve begins is interrupted (it cleans up its objects).

The estimate of a test is the longest one seen so far in this process; before the first, the
restart timeout (a restart test waits at most that long for its restart).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# An absolute deadline (epoch seconds) the xdist controller passes on to its workers (as if
# in their environment), so all processes of one run share one deadline.
DEADLINE_AT_ENV = "HARNESS_DEADLINE_AT"


# Beyond any run (and beyond what the clock's functions take); an absolute deadline is larger.
_LONGEST = 1e10


class DeadlineError(ValueError):
    """A deadline setting is malformed; one line naming it."""


def _seconds(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DeadlineError(f"{source} must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value > _LONGEST:
        raise DeadlineError(
            f"{source} must be a number of seconds up to {_LONGEST:g}, got {text!r}"
        )
    if value <= 0:
        raise DeadlineError(f"{source} must be more than 0 seconds, got {text!r}")
    return value


def job_margin(active_deadline: float) -> float:
    """Time of a Job's deadline that is not ours: pod start before us, results export after."""
    return min(120.0, max(15.0, 0.1 * active_deadline))


def reserve_for(total: float) -> float:
    """Time kept at the end for cleanup, the leak sweep and writing the results."""
    return max(3.0, min(120.0, 0.1 * total))


@dataclass(frozen=True)
class Deadline:
    at: float  # epoch seconds
    total: float  # seconds the run was given
    source: str

    @property
    def reserve(self) -> float:
        return reserve_for(self.total)

    @property
    def stop_at(self) -> float:
        """When a running test is interrupted so cleanup and results fit before `at`."""
        return self.at - self.reserve


def parse_deadline_seconds(text: str, source: str = "--deadline") -> float:
    return _seconds(text, source)


def resolve_deadline(flag: str | None, environ: Mapping[str, str], now: float) -> Deadline | None:
    """The controller's deadline if one was passed on; else the flag, HARNESS_DEADLINE, or
    HARNESS_JOB_DEADLINE less its margin."""
    if environ.get(DEADLINE_AT_ENV):
        at = _seconds(environ[DEADLINE_AT_ENV], DEADLINE_AT_ENV)
        given = environ.get(DEADLINE_AT_ENV + "_TOTAL")
        total = _seconds(given, DEADLINE_AT_ENV + "_TOTAL") if given else max(at - now, 1.0)
        return Deadline(at, total, environ.get(DEADLINE_AT_ENV + "_SOURCE") or DEADLINE_AT_ENV)
    if flag:
        seconds = _seconds(flag, "--deadline")
        return Deadline(now + seconds, seconds, "--deadline")
    if environ.get("HARNESS_DEADLINE"):
        seconds = _seconds(environ["HARNESS_DEADLINE"], "HARNESS_DEADLINE")
        return Deadline(now + seconds, seconds, "HARNESS_DEADLINE")
    if environ.get("HARNESS_JOB_DEADLINE"):
        active = _seconds(environ["HARNESS_JOB_DEADLINE"], "HARNESS_JOB_DEADLINE")
        seconds = active - job_margin(active)
        if seconds <= 0:
            raise DeadlineError(f"HARNESS_JOB_DEADLINE={active:g} leaves no time to run tests")
        return Deadline(now + seconds, seconds, "HARNESS_JOB_DEADLINE")
    return None


def handed_on(deadline: Deadline) -> dict[str, str]:
    """Environment that gives worker processes the same deadline."""
    return {
        DEADLINE_AT_ENV: repr(deadline.at),
        DEADLINE_AT_ENV + "_TOTAL": repr(deadline.total),
        DEADLINE_AT_ENV + "_SOURCE": deadline.source,
    }


@dataclass
class DeadlinePolicy:
    deadline: Deadline
    first_estimate: float
    _durations: list[float] = field(default_factory=list)

    def observe(self, seconds: float) -> None:
        self._durations.append(seconds)

    def estimate(self) -> float:
        return max(self._durations) if self._durations else self.first_estimate

    def refusal(self, now: float) -> str | None:
        """Why a test must not start now, or None when it fits."""
        left = self.deadline.stop_at - now
        needed = self.estimate()
        if left >= needed:
            return None
        away = max(self.deadline.at - now, 0.0)
        return (
            f"not run: the deadline ({self.deadline.source}) is {away:.0f} s "
            f"away and a test takes up to ~{needed:.0f} s plus {self.deadline.reserve:.0f} s for "
            "cleanup and results"
        )
