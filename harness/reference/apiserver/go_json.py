"""Request bodies decoded the way kube-apiserver's Go decoders decode them, with their errors.

`decode` turns raw bytes into Python values or raises `SyntaxFailure` carrying the text Go's
`encoding/json` gives for the first problem (`invalid character 'h' looking for beginning of
value`, `unexpected end of JSON input`, `... exceeded max depth`). Numbers follow the
unstructured decoder: an integer that fits int64 stays an integer, any other number is a float64
(an integral float prints like an integer, as Go prints it), and a number no float64 holds is a
`NumberOverflow`. Bytes that are not UTF-8 become U+FFFD, as Go replaces them in strings.

Nesting is limited to `MAX_DEPTH` levels (kube-apiserver allows 10 000; this server recurses in
Python, so it refuses deeper bodies with the same error at a lower depth).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 256
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Go prints float64 values from 1e21 on in exponent form; below that an integral one prints as
# an integer, so such a float is kept as a Python int to print the same.
INTEGRAL_FLOAT_LIMIT = 1e21

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_GO_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


class SyntaxFailure(ValueError):
    """The body is not JSON (or too deeply nested); `message` is Go's error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NumberOverflow(ValueError):
    """A number literal no float64 can hold (`1e400`)."""

    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


class _Constant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def quote_char(byte: int) -> str:
    """A byte the way Go's JSON scanner names it in an error: `'h'`, `'\\n'`, `'\\u0081'`."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    if byte in _GO_ESCAPES:
        return f"'{_GO_ESCAPES[byte]}'"
    if byte == ord("\\"):
        return "'\\\\'"
    char = chr(byte)
    if byte < 0x20 or byte == 0x7F:
        return f"'\\x{byte:02x}'"
    if byte >= 0x80 and not char.isprintable():
        return f"'\\u{byte:04x}'"
    return f"'{char}'"


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> int | None:
    """The opening bracket that nests deeper than `limit`, or None (cheap for normal bodies)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        char = match.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return char[0]
        else:
            depth -= 1
    return None


def _parse_int(text: str) -> int | float:
    value = int(text)
    if INT64_MIN <= value <= INT64_MAX:
        return value
    return _parse_float(text)


def _parse_float(text: str) -> int | float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NumberOverflow(text)
    if value.is_integer() and abs(value) < INTEGRAL_FLOAT_LIMIT:
        return int(value)
    return value


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


_decoder = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_reject_constant
)


def decode(raw: bytes) -> Any:
    """The JSON value in `raw`; raises SyntaxFailure or NumberOverflow."""
    if not raw.strip():
        raise SyntaxFailure("unexpected end of JSON input")
    deep = too_deep(raw)
    if deep is not None:
        raise SyntaxFailure(f"invalid character {quote_char(deep)} exceeded max depth")
    text = raw.decode("utf-8", errors="replace")
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError:
        pass
    except _Constant as constant:
        raise SyntaxFailure(_constant_error(constant.name)) from None
    # Again on text that keeps each undecodable byte (as a surrogate), to name the byte Go names.
    try:
        _decoder.decode(raw.decode("utf-8", errors="surrogateescape"))
    except json.JSONDecodeError as error:
        raise SyntaxFailure(_go_syntax_error(error)) from None
    except _Constant as constant:
        raise SyntaxFailure(_constant_error(constant.name)) from None
    raise SyntaxFailure("invalid character looking for beginning of value")


def _constant_error(name: str) -> str:
    if name == "-Infinity":
        return "invalid character 'I' in numeric literal"
    return f"invalid character '{name[0]}' looking for beginning of value"


def _go_syntax_error(error: json.JSONDecodeError) -> str:
    text, pos, msg = error.doc, error.pos, error.msg
    if msg.startswith("Unterminated string") or pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    char_at = text[pos]
    surrogate = "\udc80" <= char_at <= "\udcff"
    byte = ord(char_at) - 0xDC00 if surrogate else char_at.encode("utf-8")[0]
    char = quote_char(byte)
    if msg == "Extra data":
        return f"invalid character {char} after top-level value"
    if msg.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if msg == "Expecting ':' delimiter":
        return f"invalid character {char} after object key"
    if msg == "Expecting ',' delimiter":
        if _innermost(text[:pos]) == "{":
            return f"invalid character {char} after object key:value pair"
        return f"invalid character {char} after array element"
    if msg.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    if msg.startswith("Invalid \\escape"):
        following = text[pos + 1 : pos + 2] or " "
        return f"invalid character {quote_char(following.encode()[0])} in string escape code"
    if msg.startswith("Invalid \\u"):
        return f"invalid character {char} in \\u hexadecimal character escape"
    return f"invalid character {char} looking for beginning of value"


def _innermost(prefix: str) -> str:
    """The innermost container open at the end of `prefix`: `{` or `[`."""
    stack: list[bytes] = []
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', prefix.encode())):
        char = match.group()
        if char in (b"[", b"{"):
            stack.append(char)
        elif stack:
            stack.pop()
    return stack[-1].decode() if stack else ""


def go_type(value: Any) -> str:
    """How Go's decoder names a JSON value's kind in `cannot unmarshal X into ...`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def summarize(raw: bytes, limit: int = 30) -> str:
    """The short quote of a body kube-apiserver appends to a decoding error."""
    if not raw:
        return "<empty>"
    head = raw[:limit]
    more = " ..." if len(raw) > limit else ""
    if raw[:1] == b"{":
        return head.decode("utf-8", errors="replace") + more
    return head.hex() + more
