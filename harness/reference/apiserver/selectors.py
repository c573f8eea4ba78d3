"""Label selectors (the full `labels.Parse` grammar) and field selectors, compiled to predicates.

Label grammar: comma-joined requirements, each `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a,b)`, `k`, `!k`, `k>N` or `k<N`; whitespace is free around tokens. Field selectors
support `=`, `==` and `!=` on the fields a resource declares (for custom resources only
`metadata.name` and `metadata.namespace`); any other field is a 400 like the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from harness.reference.apiserver.status_errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_KEY_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(
    rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_KEY_NAME}$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=,()<>]+)")

DEFAULT_FIELDS = ("metadata.name", "metadata.namespace")


def parse_label_selector(text: str | None) -> Predicate | None:
    """Compile a label selector; `None` for an empty one (everything matches)."""
    if text is None or not text.strip():
        return None
    try:
        requirements = list(_LabelParser(text).parse())
    except _SelectorError as error:
        raise bad_request(f"unable to parse requirement: {error}") from None

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def parse_field_selector(
    text: str | None, allowed: Iterable[str] = DEFAULT_FIELDS
) -> Predicate | None:
    if text is None or not text.strip():
        return None
    allowed = tuple(allowed)
    terms: list[tuple[tuple[str, ...], bool, str]] = []
    for raw_term in _split_unescaped(text):
        term = raw_term.strip()
        if not term:
            continue
        operator = next((op for op in ("!=", "==", "=") if op in term), None)
        if operator is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, value = term.split(operator, 1)
        negate = operator == "!="
        field = field.strip()
        if field not in allowed:
            raise bad_request(
                f'"{field}" is not a known field selector: only '
                + ", ".join(f'"{name}"' for name in allowed)
            )
        terms.append((tuple(field.split(".")), negate, _unescape(value.strip())))
    if not terms:
        return None

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) != negate for path, negate, value in terms)

    return matches


def exact_match(text: str | None, field: str) -> str | None:
    """The value a field selector requires `field` to equal (`f=v` or `f==v`), as
    fields.Selector.RequiresExactMatch finds it: the first such term. None when there is none
    or the selector does not parse (the request itself then fails with 400)."""
    if not text:
        return None
    for raw_term in _split_unescaped(text):
        term = raw_term.strip()
        if "!=" in term:
            continue
        key, operator, value = term.partition("=")
        if operator and key.strip() == field:
            return _unescape(value.removeprefix("=").strip())
    return None


def _field_value(obj: dict[str, Any], path: tuple[str, ...]) -> str:
    current: Any = obj
    for part in path:
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _split_unescaped(text: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


class _SelectorError(ValueError):
    pass


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        position = 0
        stripped_end = len(text.rstrip())
        while position < stripped_end:
            match = _TOKEN.match(text, position)
            if match is None:
                raise _SelectorError(f"unexpected character at {position} in {text!r}")
            self.tokens.append(match.group(1))
            position = match.end()
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _SelectorError(f"unexpected end of selector {self.text!r}")
        self.index += 1
        return token

    def parse(self) -> Iterable[Callable[[dict[str, str]], bool]]:
        while True:
            yield self.requirement()
            token = self.peek()
            if token is None:
                return
            if token != ",":
                raise _SelectorError(f"expected ',' but found {token!r} in {self.text!r}")
            self.take()

    def requirement(self) -> Callable[[dict[str, str]], bool]:
        token = self.take()
        if token == "!":
            key = self.key(self.take())
            return lambda labels: key not in labels
        key = self.key(token)
        operator = self.peek()
        if operator is None or operator == ",":
            return lambda labels: key in labels
        self.take()
        if operator in ("=", "=="):
            value = self.value(self.take_value())
            return lambda labels: labels.get(key) == value
        if operator == "!=":
            value = self.value(self.take_value())
            return lambda labels: labels.get(key) != value
        if operator in ("in", "notin"):
            values = self.value_set()
            if operator == "in":
                return lambda labels: labels.get(key) in values
            return lambda labels: labels.get(key) not in values
        if operator in (">", "<"):
            raw = self.take()
            try:
                bound = int(raw)
            except ValueError:
                raise _SelectorError(
                    f"for '{operator}' operator, value must be an integer"
                ) from None
            greater = operator == ">"
            return lambda labels: _compare_int(labels.get(key), bound, greater)
        raise _SelectorError(f"unknown operator {operator!r} in {self.text!r}")

    def take_value(self) -> str:
        token = self.peek()
        if token is None or token == ",":
            return ""
        return self.take()

    def value_set(self) -> frozenset[str]:
        if self.take() != "(":
            raise _SelectorError(f"expected '(' in {self.text!r}")
        values: set[str] = set()
        expect_value = True
        while True:
            token = self.take()
            if token == ")":
                if expect_value and values:
                    values.add("")
                return frozenset(values)
            if token == ",":
                if expect_value:
                    values.add("")
                expect_value = True
                continue
            values.add(self.value(token))
            expect_value = False

    def key(self, token: str) -> str:
        if token in ("=", "==", "!=", "!", "(", ")", ",", ">", "<") or not _KEY.match(token):
            raise _SelectorError(f"invalid label key {token!r}")
        return token

    def value(self, token: str) -> str:
        if len(token) > 63 or not _VALUE.match(token):
            raise _SelectorError(f"invalid label value: {token!r}")
        return token


def _compare_int(value: str | None, bound: int, greater: bool) -> bool:
    if value is None:
        return False
    try:
        number = int(value)
    except ValueError:
        return False
    return number > bound if greater else number < bound
