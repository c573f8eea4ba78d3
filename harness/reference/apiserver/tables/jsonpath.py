"""The Kubernetes JSONPath dialect (client-go `util/jsonpath`), as printer columns use it.

`compile_path(".status.conditions[?(@.type=='Ready')].status")` wraps the path in `{}` like the
CRD table convertor does and parses it; `find(obj)` returns one result list per top-level node.
What a column cell needs from it is the dialect's exact outcome: which paths parse (a double-quoted
key `["a"]` does not), which evaluations fail (an index out of range, comparing a string with a
number: the cell is empty), missing keys allowed. Maps are walked in their key order, where the
real implementation walks Go map order (unspecified). `range`/`end` blocks are not supported:
they evaluate as an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")
_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.DOTALL)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class GoInt(int):
    """A number literal of a path: a Go `int`, which no typed column accepts (only int64)."""


class JsonPathError(Exception):
    """A path that does not parse, or an evaluation that fails (the cell is then empty)."""


# --- nodes ------------------------------------------------------------------------------------


@dataclass
class _List:
    nodes: list[Any] = field(default_factory=list)


@dataclass
class _Text:
    text: str


@dataclass
class _Field:
    name: str


@dataclass
class _Param:
    value: int = 0
    known: bool = False
    derived: bool = False


@dataclass
class _Array:
    params: tuple[_Param, _Param, _Param]


@dataclass
class _Filter:
    left: _List
    right: _List
    operator: str


@dataclass
class _Literal:
    value: Any


class _Wildcard:
    pass


class _Recursive:
    pass


@dataclass
class _Union:
    lists: list[_List]


@dataclass
class _Identifier:
    name: str


# --- parsing ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.root = _List()

    def parse(self) -> _List:
        current: _List | None = None
        while True:
            if current is None:
                current = self._text()
                if current is None:
                    return self.root
            current = self._action(current)

    def _consume(self) -> str:
        value = self.input[self.start : self.pos]
        self.start = self.pos
        return value

    def _next(self) -> str:
        if self.pos >= len(self.input):
            self.pos = len(self.input) + 1  # one past, so that a backup returns to the end
            return ""
        char = self.input[self.pos]
        self.pos += 1
        return char

    def _backup(self) -> None:
        self.pos -= 1

    def _peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else ""

    def _text(self) -> _List | None:
        """Text up to the next `{`; returns the new action's list, or None at the end."""
        while True:
            if self.input.startswith("{", self.pos):
                if self.pos > self.start:
                    self.root.nodes.append(_Text(self._consume()))
                self.pos += 1
                self._consume()
                action = _List()
                self.root.nodes.append(action)
                return action
            if self._next() == "":
                self.pos = len(self.input)
                break
        if self.pos > self.start:
            self.root.nodes.append(_Text(self._consume()))
        return None

    def _action(self, current: _List) -> _List | None:
        """Nodes inside one `{...}`; returns None once it closes (text follows)."""
        while True:
            rest = self.input[self.pos :]
            if rest.startswith("}"):
                self.pos += 1
                self._consume()
                return None
            if rest.startswith("[?("):
                self._filter(current)
                continue
            if rest.startswith(".."):
                self._recursive(current)
                continue
            char = self._next()
            if char == "" or char in "\r\n":
                raise JsonPathError("unclosed action")
            if char in " @$":
                self._consume()
            elif char == "[":
                self._array(current)
            elif char in "\"'":
                self._quote(current, char)
            elif char == ".":
                self._field(current)
            elif char in "+-0123456789":
                self._backup()
                self._number(current)
            elif char == "_" or char.isalnum():
                self._backup()
                self._identifier(current)
            else:
                raise JsonPathError(f"unrecognized character in action: {char!r}")

    def _identifier(self, current: _List) -> None:
        while True:
            char = self._next()
            if char == "" or char in _TERMINATORS:
                self._backup()
                break
        value = self._consume()
        if value in ("true", "false"):
            current.nodes.append(_Literal(value == "true"))
        else:
            current.nodes.append(_Identifier(value))

    def _recursive(self, current: _List) -> None:
        if current.nodes and isinstance(current.nodes[-1], _Recursive):
            raise JsonPathError("invalid multiple recursive descent")
        self.pos += 2
        self._consume()
        current.nodes.append(_Recursive())
        following = self._peek()
        if following and (following == "_" or following.isalnum()):
            self._field(current)

    def _number(self, current: _List) -> None:
        if self._peek() in ("+", "-"):
            self._next()
        while True:
            char = self._next()
            if char not in ".0123456789":
                self._backup()
                break
        value = self._consume()
        try:
            current.nodes.append(_Literal(GoInt(value)))
            return
        except ValueError:
            pass
        try:
            current.nodes.append(_Literal(float(value)))
        except ValueError:
            raise JsonPathError(f"cannot parse number {value}") from None

    def _array(self, current: _List) -> None:
        while True:
            char = self._next()
            if char in ("", "\n"):
                raise JsonPathError("unterminated array")
            if char == "]":
                break
        text = self._consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            current.nodes.append(_Union([_action_of(f"[{part.strip(' ')}]") for part in parts]))
            return
        key = _DICT_KEY.match(text)
        if key is not None:
            current.nodes.extend(_action_of(f".{key.group(1)}").nodes)
            return
        match = _SLICE.match(text)
        if match is None:
            raise JsonPathError(f"invalid array index {text}")
        params = (_Param(), _Param(), _Param())
        for index, group in enumerate(match.groups()):
            if group:
                number = group[1:] if index > 0 else group
                if not number:
                    continue
                params[index].known = True
                try:
                    params[index].value = int(number)
                except ValueError:
                    raise JsonPathError(f"array index {number} is not a number") from None
            elif index == 1:
                params[1].known = True
                params[1].value = params[0].value + 1
                params[1].derived = True
        current.nodes.append(_Array(params))

    def _filter(self, current: _List) -> None:
        self.pos += 3
        self._consume()
        begin = end = False
        pair = ""
        while True:
            char = self._next()
            if char in ("", "\n"):
                raise JsonPathError("unterminated filter")
            if char in "\"'":
                if not begin:
                    begin, pair = True, char
                    continue
                if self.input[self.pos - 2] != "\\" and char == pair:
                    end = True
            elif char == ")" and begin == end:
                break
        if self._next() != "]":
            raise JsonPathError("unclosed array expect ]")
        text = self._consume()[:-2]
        match = _FILTER.match(text)
        if match is None:
            current.nodes.append(_Filter(_action_of(text), _List(), "exists"))
        else:
            left, operator, right = match.groups()
            current.nodes.append(_Filter(_action_of(left), _action_of(right), operator))

    def _quote(self, current: _List, quote: str) -> None:
        while True:
            char = self._next()
            if char in ("", "\n"):
                raise JsonPathError("unterminated quoted string")
            if char == quote and self.input[self.pos - 2] != "\\":
                break
        current.nodes.append(_Text(_unquote(self._consume())))

    def _field(self, current: _List) -> None:
        self._consume()
        while True:
            char = self._next()
            if char == "\\":
                self._next()
            elif char == "" or char in _TERMINATORS:
                self._backup()
                break
        value = self._consume()
        current.nodes.append(_Wildcard() if value == "*" else _Field(value.replace("\\", "")))


def _unquote(quoted: str) -> str:
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as error:
        raise JsonPathError(f"unquote string {quoted} error {error}") from None


def _action_of(text: str) -> _List:
    root = _Parser("{" + text + "}").parse()
    first = root.nodes[0] if root.nodes else None
    if not isinstance(first, _List):
        raise JsonPathError(f"invalid path {text}")
    return first


# --- evaluation -------------------------------------------------------------------------------


class JsonPath:
    """A parsed path; `find` evaluates it with missing keys allowed."""

    def __init__(self, root: _List) -> None:
        self._root = root

    def find(self, data: Any) -> list[list[Any]]:
        return [_walk([data], node) for node in self._root.nodes]


def compile_path(path: str) -> JsonPath:
    """Parse a printer column's `jsonPath` as `{path}`; raises JsonPathError."""
    return JsonPath(_Parser("{" + path + "}").parse())


def _walk(values: list[Any], node: Any) -> list[Any]:
    if isinstance(node, _List):
        for child in node.nodes:
            values = _walk(values, child)
        return values
    if isinstance(node, _Text):
        return [node.text]
    if isinstance(node, _Field):
        return [v[node.name] for v in values if isinstance(v, dict) and node.name in v]
    if isinstance(node, _Array):
        return _array(values, node.params)
    if isinstance(node, _Filter):
        return _filter(values, node)
    if isinstance(node, _Literal):
        return [node.value for _ in values]
    if isinstance(node, _Wildcard):
        return [child for value in values for child in _children(value)]
    if isinstance(node, _Recursive):
        return _recursive(values)
    if isinstance(node, _Union):
        return [found for listed in node.lists for found in _walk(values, listed)]
    raise JsonPathError(f"unrecognized identifier {node.name}")


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return list(value.encode())
    return []


def _recursive(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if value is None:
            continue
        children = _children(value)
        if children:
            found.append(value)
            found.extend(_recursive(children))
    return found


def _array(values: list[Any], params: tuple[_Param, _Param, _Param]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise JsonPathError(f"{type(value).__name__} is not array or slice")
        length = len(value)
        start = params[0].value if params[0].known else 0
        if start < 0:
            start += length
        end = params[1].value if params[1].known else length
        if end < 0 or (end == 0 and params[1].derived):
            end += length
        if end == start:
            return found
        if start >= length or start < 0:
            raise JsonPathError(f"array index out of bounds: index {start}, length {length}")
        if end > length or end < 0:
            raise JsonPathError(f"array index out of bounds: index {end - 1}, length {length}")
        if start > end:
            raise JsonPathError(f"starting index {start} is greater than ending index {end}")
        step = 1
        if params[2].known:
            if params[2].value <= 0:
                raise JsonPathError("step must be > 0")
            step = params[2].value
        found.extend(value[start:end:step])
    return found


def _filter(values: list[Any], node: _Filter) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if not isinstance(value, list):
            raise JsonPathError(f"{value!r} is not array or slice and cannot be filtered")
        for item in value:
            if node.operator == "exists":
                try:
                    if _walk([item], node.left):
                        found.append(item)
                except JsonPathError:
                    pass
                continue
            lefts = _walk([item], node.left)
            if not lefts:
                continue
            if len(lefts) > 1:
                raise JsonPathError("can only compare one element at a time")
            rights = _walk([item], node.right)
            if not rights:
                continue
            if len(rights) > 1:
                raise JsonPathError("can only compare one element at a time")
            if _compare(node.operator, lefts[0], rights[0]):
                found.append(item)
    return found


def _kind(value: Any) -> str:
    """text/template's basic kinds, for a value decoded the way Kubernetes decodes JSON."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if INT64_MIN <= value <= INT64_MAX else "float"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "invalid"


def _compare(operator: str, left: Any, right: Any) -> bool:
    left_kind, right_kind = _kind(left), _kind(right)
    if left_kind != right_kind:
        raise JsonPathError("incompatible types for comparison")
    if left_kind == "invalid" or (left_kind == "bool" and operator not in ("==", "!=")):
        raise JsonPathError("invalid type for comparison")
    if left_kind == "float":
        left, right = float(left), float(right)
    elif left_kind == "string":
        left, right = left.encode(), right.encode()
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if operator == "<":
        return bool(left < right)
    if operator == ">":
        return bool(left > right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">=":
        return bool(left >= right)
    raise JsonPathError(f"unrecognized filter operator {operator}")
