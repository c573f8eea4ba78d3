"""Restart latency over a whole run: percentiles per phase, thresholds, `metrics.json`."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.contract.milestones import PHASES, TOTAL

PERCENTILES = (50, 90, 99)


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted `values`."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{phase: {count, p50, p90, p99, max}} over the completed restarts' phases."""
    summary: dict[str, dict[str, float]] = {}
    for phase in PHASES:
        values = [s["phases"][phase] for s in samples if s["completed"] and phase in s["phases"]]
        if not values:
            continue
        stats: dict[str, float] = {"count": len(values)}
        for p in PERCENTILES:
            stats[f"p{p}"] = round(percentile(values, p), 4)
        stats["max"] = round(max(values), 4)
        summary[phase] = stats
    return summary


@dataclass(frozen=True)
class Violation:
    test: str
    instance: str
    phase: str
    seconds: float
    limit: float

    def __str__(self) -> str:
        what = "restart" if self.phase == TOTAL else f"phase {self.phase}"
        return (
            f"restart latency over its limit: {what} took {self.seconds:.3f} s, limit "
            f"{self.limit:g} s ({self.test}, instance {self.instance})"
        )


def violations(samples: list[dict[str, Any]], limits: Mapping[str, float]) -> list[Violation]:
    """Every completed restart's phase over its limit (`total` is the whole restart)."""
    found: list[Violation] = []
    for sample in samples:
        if not sample["completed"]:
            continue
        for phase, limit in limits.items():
            seconds = sample["phases"].get(phase)
            if seconds is not None and seconds > limit:
                found.append(Violation(sample["test"], sample["instance"], phase, seconds, limit))
    return found


def document(samples: list[dict[str, Any]], limits: Mapping[str, float]) -> dict[str, Any]:
    """The content of metrics.json."""
    completed = [s for s in samples if s["completed"]]
    return {
        "unit": "seconds",
        "restarts": len(completed),
        "requests_not_completed": len(samples) - len(completed),
        "phases": summarize(samples),
        "phase_order": list(PHASES),
        "limits": dict(limits),
        "violations": [str(v) for v in violations(samples, limits)],
        "samples": samples,
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
