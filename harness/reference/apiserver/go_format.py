"""Values as Go's `fmt` and `encoding/json` print them, for the texts kube-apiserver writes.

`go_value` is how a field error shows the offending value (`%v` for numbers and booleans, `%q`
for strings, JSON for the rest), `go_text` how `%v` shows a decoded JSON value, `go_json` what
`json.Marshal` writes (sorted keys, compact, `<>&` escaped, floats in Go's shortest form).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


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
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value) if INT64_MIN <= value <= INT64_MAX else go_json_float(float(value))
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
    """`%v` of a decoded JSON value, with maps and lists as JSON (client-go's JSONPath)."""
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        value = float(value)
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


def go_quote(text: str) -> str:
    """`strconv.Quote`: printable characters kept, the others escaped."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable() or char == " ":
            out.append(char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def go_value(value: Any) -> str:
    """A field error's value: `%v` for numbers and booleans, `%q` for strings, JSON else."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_text(value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return str(value)
    return go_json(value)
