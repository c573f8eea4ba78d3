"""`metav1.Condition` list handling with apimachinery's `meta.SetStatusCondition` semantics.

Conditions are plain dicts in Go field order (`type`, `status`, `observedGeneration`,
`lastTransitionTime`, `reason`, `message`); `observedGeneration` is omitted when 0 (Go
`omitempty`), `message` is always present. `lastTransitionTime` changes only when `status` flips.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.contract.timestamps import format_rfc3339

REASON_INITIALIZED = "Initialized"
REASON_AS_EXPECTED = "AsExpected"

TRUE = "True"
FALSE = "False"

Status = dict[str, Any]


def conditions_of(status: Status) -> list[dict[str, Any]]:
    conditions = status.get("conditions")
    if conditions is None:
        conditions = []
        status["conditions"] = conditions
    return conditions


def find_condition(status: Status, condition_type: str) -> dict[str, Any] | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def is_condition_true(status: Status, condition_type: str) -> bool:
    condition = find_condition(status, condition_type)
    return condition is not None and condition.get("status") == TRUE


def set_condition(
    status: Status,
    condition_type: str,
    condition_status: str,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int = 0,
) -> bool:
    """Add or update one condition; returns whether anything changed."""
    conditions = conditions_of(status)
    existing = find_condition(status, condition_type)
    if existing is None:
        condition: dict[str, Any] = {"type": condition_type, "status": condition_status}
        if observed_generation:
            condition["observedGeneration"] = observed_generation
        condition["lastTransitionTime"] = format_rfc3339(now)
        condition["reason"] = reason
        condition["message"] = message
        conditions.append(condition)
        return True
    changed = False
    if existing.get("status") != condition_status:
        existing["status"] = condition_status
        existing["lastTransitionTime"] = format_rfc3339(now)
        changed = True
    if existing.get("reason") != reason:
        existing["reason"] = reason
        changed = True
    if existing.get("message", "") != message or "message" not in existing:
        existing["message"] = message
        changed = True
    if int(existing.get("observedGeneration") or 0) != observed_generation:
        if observed_generation:
            existing["observedGeneration"] = observed_generation
        else:
            existing.pop("observedGeneration", None)
        changed = True
    return changed


def remove_condition(status: Status, condition_type: str) -> bool:
    conditions = status.get("conditions")
    if not conditions:
        return False
    kept = [c for c in conditions if c.get("type") != condition_type]
    if len(kept) == len(conditions):
        return False
    status["conditions"] = kept
    return True
