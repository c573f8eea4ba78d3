"""JSON values as kube-apiserver's Go code prints them into table cells.

kube-apiserver decodes a stored custom resource's numbers as int64 when they are written
without a fraction and fit, as float64 otherwise (`as_go`); it prints a value with `%v`
(floats in shortest `%g` form: `2.5`, `3`, `1.2345675e+06`, `1e-05`) and a map or list with
`encoding/json` (sorted keys, compact, `<>&` escaped). Ages are `HumanDuration`s: `42s`,
`5m3s`, `3h10m`, `6y340d`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from harness.reference.apiserver.go_format import go_text
from harness.reference.apiserver.tables.jsonpath import GoInt

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def as_go(value: Any) -> Any:
    """A value as kube-apiserver holds it after storage wrote it as JSON and read it back: an
    integer that does not fit int64 is a float64, a whole float below 1e21 (written `3`) an
    int64 when it fits."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        value = int(Decimal(repr(value)))
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return float(value)
    return value


def cell_text(value: Any) -> str:
    """How a printer column of type string shows one JSONPath result."""
    return go_text(as_go(value))


def go_int64(value: Any) -> int | None:
    """An integer column's cell: an int64, or a float truncated like Go's conversion."""
    value = as_go(value)
    if isinstance(value, bool | GoInt):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not INT64_MIN <= value < 2.0**63:
            return INT64_MIN
        return int(value)
    return None


def go_number(value: Any) -> int | float | None:
    """A number column's cell (a whole float is written `7`, as Go's JSON writes it)."""
    value = as_go(value)
    if isinstance(value, bool | GoInt) or not isinstance(value, int | float):
        return None
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return int(Decimal(repr(number)))  # the digits Go writes, not the double's exact value
    return number


def parse_time(text: str) -> datetime | None:
    """RFC 3339 as Go's `time.RFC3339` layout reads it (seconds required, fractions allowed)."""
    if _RFC3339.match(text) is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """`duration.HumanDuration`."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: Any, now: datetime | None = None) -> str:
    """`translateTimestampSince`: `<unknown>` without a timestamp."""
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    parsed = parse_time(timestamp)
    if parsed is None:
        return "<unknown>"
    current = now or datetime.now(UTC)
    return human_duration((current - parsed).total_seconds())
