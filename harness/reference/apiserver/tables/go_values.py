"""JSON values as kube-apiserver's Go code prints them into table cells.

kube-apiserver decodes a stored custom resource's numbers as int64 when they are written
without a fraction and fit, as float64 otherwise (`as_go`); it prints a value with `%v`
(floats in shortest `%g` form: `2.5`, `3`, `1.2345675e+06`, `1e-05`) and a map or list with
`encoding/json` (sorted keys, compact, `<>&` escaped). Ages are `HumanDuration`s: `42s`,
`5m3s`, `3h10m`, `6y340d`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from harness.reference.apiserver.tables.jsonpath import GoInt

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
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


def _digits(number: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |number| and the decimal point's position."""
    _, digits, exponent = Decimal(repr(abs(number))).as_tuple()
    assert isinstance(exponent, int)
    full = "".join(map(str, digits))
    text = full.rstrip("0")
    if not text:
        return "0", 1
    return text, len(full) + exponent


def _exponent_form(digits: str, point: int, negative: bool) -> str:
    exponent = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exponent < 0 else "+"
    return f"{'-' if negative else ''}{mantissa}e{sign}{abs(exponent):02d}"


def _plain_form(digits: str, point: int, negative: bool) -> str:
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if negative else "") + text


def go_float_text(number: float) -> str:
    """`fmt.Sprint(float64)`: shortest digits, exponent form below 1e-4 or from 1e6
    (`1.234567e+06`)."""
    if number == 0:
        return "0"
    digits, point = _digits(number)
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        return _exponent_form(digits, point, number < 0)
    return _plain_form(digits, point, number < 0)


def go_json_float(number: float) -> str:
    """`encoding/json` for a float64: plain between 1e-6 and 1e21, else `1e+21`, `1e-7`."""
    if number == 0:
        return "0"
    digits, point = _digits(number)
    if 1e-6 <= abs(number) < 1e21:
        return _plain_form(digits, point, number < 0)
    text = _exponent_form(digits, point, number < 0)
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{exponent[0]}{int(exponent[1:])}"


def go_json(value: Any) -> str:
    """`json.Marshal` of a decoded JSON value."""
    value = as_go(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char, escaped in _HTML_ESCAPES.items():
            text = text.replace(char, escaped)
        return text
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(go_json(key) + ":" + go_json(item) for key, item in items) + "}"
    return json.dumps(value)


def go_text(value: Any) -> str:
    """How a printer column of type string shows one JSONPath result."""
    value = as_go(value)
    if isinstance(value, dict | list):
        return go_json(value)
    if value is None:
        return "<no value>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_float_text(value)
    return str(value)


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
