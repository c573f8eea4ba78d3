"""Structural-schema validation with the real server's per-field causes.

The structural core (type, properties, required, enum, bounds, lengths, pattern, formats
`int32`/`int64`/`date-time`, items, additionalProperties, nullable, int-or-string, list and map
types) is checked here directly: it runs on every write and must produce kube-openapi's messages
(`spec.cores: Invalid value: 200: spec.cores in body should be less than or equal to 128`),
and `jsonschema` would add its import to every start-up and a generic error model to map.
The value-only combinators (`allOf`, `anyOf`, `oneOf`, `not`) are rare in CRDs and go to
`jsonschema` (imported on first use).

Each node's scalar checks are built once into a list of small closures. On updates, a subtree
that *is* the stored one (not supplied by this request, see structural.py) is not re-validated,
which is also the real server's validation ratcheting for unchanged values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from harness.contract.timestamps import is_rfc3339
from harness.reference.apiserver.schema.structural import (
    INT32_RANGE,
    INT64_RANGE,
    MISSING,
    RESOURCE_KEYS,
    SchemaNode,
    json_type,
)
from harness.reference.apiserver.status_errors import (
    Cause,
    field_duplicate,
    field_invalid,
    field_not_supported,
    field_required,
    field_too_long,
    field_too_many,
    field_type_invalid,
)

Check = Callable[[Any, str, list[Cause]], None]

_ACCEPTS: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_INT_OR_STRING = frozenset({int, str})


def validate(obj: dict[str, Any], root: SchemaNode, old: Any = MISSING) -> list[Cause]:
    """All schema violations of `obj` (metadata, apiVersion and kind excepted)."""
    causes: list[Cause] = []
    properties = root.properties or {}
    for key in root.required:
        if key not in RESOURCE_KEYS and obj.get(key) is None:
            causes.append(field_required(key))
    old_map = old if type(old) is dict else None
    for key, value in obj.items():
        if key in RESOURCE_KEYS:
            continue
        child = properties.get(key) or root.additional
        if child is None:
            continue
        previous = old_map.get(key, MISSING) if old_map is not None else MISSING
        if value is previous:
            continue
        _validate(value, child, key, causes, previous)
    return causes


def _prepare(node: SchemaNode) -> list[Check]:
    if node.int_or_string:
        node.accepts = _INT_OR_STRING
    elif node.type is not None:
        node.accepts = _ACCEPTS[node.type]
    checks: list[Check] = []
    if node.enum is not None:
        checks.append(_enum_check(node.enum))
    if node.type == "string" or node.int_or_string:
        checks.extend(_string_checks(node))
    if node.type in ("integer", "number") or node.int_or_string:
        checks.extend(_number_checks(node))
    if node.combinators is not None:
        checks.append(_combinator_check(node.combinators))
    node.checks = checks
    return checks


def _validate(
    value: Any, node: SchemaNode, path: str, causes: list[Cause], old: Any = MISSING
) -> None:
    checks = node.checks
    if checks is None:
        checks = _prepare(node)
    if value is None:
        if not node.nullable and not node.preserve_unknown:
            detail = f'{path} in body must be of type {node.type or "object"}: "null"'
            causes.append(field_type_invalid(path, value, detail))
        return
    kind = type(value)
    accepts = node.accepts
    if accepts is not None and kind not in accepts:
        expected = "integer-or-string" if node.int_or_string else node.type
        detail = f'{path} in body must be of type {expected}: "{json_type(value)}"'
        causes.append(field_type_invalid(path, value, detail))
        return
    for check in checks:
        check(value, path, causes)
    if kind is dict:
        _validate_object(value, node, path, causes, old)
    elif kind is list:
        _validate_array(value, node, path, causes)


def _validate_object(
    value: dict[str, Any], node: SchemaNode, path: str, causes: list[Cause], old: Any
) -> None:
    for key in node.required:
        if value.get(key) is None:
            causes.append(field_required(f"{path}.{key}"))
    if node.min_properties is not None and len(value) < node.min_properties:
        detail = f"{path} in body should have at least {node.min_properties} properties"
        causes.append(field_invalid(path, value, detail))
    if node.max_properties is not None and len(value) > node.max_properties:
        causes.append(field_too_many(path, len(value), node.max_properties))
    properties = node.properties
    additional = node.additional
    if properties is None and additional is None:
        return
    old_map = old if type(old) is dict else None
    for key, item in value.items():
        previous = MISSING
        if old_map is not None:
            previous = old_map.get(key, MISSING)
            if item is previous:
                continue
        child = properties.get(key) if properties is not None else None
        if child is not None:
            _validate(item, child, f"{path}.{key}", causes, previous)
        elif additional is not None:
            _validate(item, additional, f"{path}[{key}]", causes, previous)


def _validate_array(value: list[Any], node: SchemaNode, path: str, causes: list[Cause]) -> None:
    if node.min_items is not None and len(value) < node.min_items:
        detail = f"{path} in body should have at least {node.min_items} items"
        causes.append(field_invalid(path, value, detail))
    if node.max_items is not None and len(value) > node.max_items:
        causes.append(field_too_many(path, len(value), node.max_items))
    items = node.items
    if items is not None:
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", causes)
    if node.unique_items or node.list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if any(json_equal(item, other) for other in seen):
                causes.append(field_duplicate(f"{path}[{index}]", item))
            seen.append(item)
    elif node.list_type == "map" and node.list_map_keys:
        keys_seen: set[str] = set()
        for index, item in enumerate(value):
            if type(item) is not dict:
                continue
            key = repr([item.get(name) for name in node.list_map_keys])
            if key in keys_seen:
                causes.append(field_duplicate(f"{path}[{index}]", _key_repr(node, item)))
            keys_seen.add(key)


def _key_repr(node: SchemaNode, item: dict[str, Any]) -> Any:
    if len(node.list_map_keys) == 1:
        return item.get(node.list_map_keys[0])
    return {name: item.get(name) for name in node.list_map_keys}


# --- scalar checks, built once per node ---------------------------------------------------


def _enum_check(options: list[Any]) -> Check:
    def check(value: Any, path: str, causes: list[Cause]) -> None:
        if not any(json_equal(value, option) for option in options):
            causes.append(field_not_supported(path, value, options))

    return check


def _string_checks(node: SchemaNode) -> list[Check]:
    checks: list[Check] = []
    min_length, max_length, pattern = node.min_length, node.max_length, node.pattern
    if min_length is not None:

        def check_min_length(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str and len(value) < min_length:
                detail = f"{path} in body should be at least {min_length} chars long"
                causes.append(field_invalid(path, value, detail))

        checks.append(check_min_length)
    if max_length is not None:

        def check_max_length(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str and len(value) > max_length:
                causes.append(field_too_long(path, max_length))

        checks.append(check_max_length)
    if pattern is not None:
        search, text = pattern.search, node.pattern_text

        def check_pattern(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str and search(value) is None:
                causes.append(field_invalid(path, value, f"{path} in body should match '{text}'"))

        checks.append(check_pattern)
    if node.format == "date-time":

        def check_date_time(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str and not is_rfc3339(value):
                detail = f'{path} in body must be of type date-time: "{value}"'
                causes.append(field_invalid(path, value, detail))

        checks.append(check_date_time)
    return checks


def _number_checks(node: SchemaNode) -> list[Check]:
    checks: list[Check] = []
    maximum, minimum, multiple = node.maximum, node.minimum, node.multiple_of
    if maximum is not None:
        exclusive = node.exclusive_maximum
        relation = "less than" if exclusive else "less than or equal to"

        def check_maximum(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str:
                return
            if value > maximum or (exclusive and value == maximum):
                detail = f"{path} in body should be {relation} {_n(maximum)}"
                causes.append(field_invalid(path, value, detail))

        checks.append(check_maximum)
    if minimum is not None:
        exclusive_min = node.exclusive_minimum
        relation_min = "greater than" if exclusive_min else "greater than or equal to"

        def check_minimum(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is str:
                return
            if value < minimum or (exclusive_min and value == minimum):
                detail = f"{path} in body should be {relation_min} {_n(minimum)}"
                causes.append(field_invalid(path, value, detail))

        checks.append(check_minimum)
    if multiple:

        def check_multiple(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is not str and not _is_multiple(value, multiple):
                detail = f"{path} in body should be a multiple of {_n(multiple)}"
                causes.append(field_invalid(path, value, detail))

        checks.append(check_multiple)
    if node.format in ("int32", "int64"):
        low, high = INT32_RANGE if node.format == "int32" else INT64_RANGE
        name = node.format

        def check_range(value: Any, path: str, causes: list[Cause]) -> None:
            if type(value) is int and not low <= value <= high:
                detail = f'{path} in body must be of type {name}: "{value}"'
                causes.append(field_invalid(path, value, detail))

        checks.append(check_range)
    return checks


def _combinator_check(combinators: dict[str, Any]) -> Check:
    validator: Any = None

    def check(value: Any, path: str, causes: list[Cause]) -> None:
        nonlocal validator
        if validator is None:
            import jsonschema

            validator = jsonschema.Draft4Validator(combinators)
        for error in validator.iter_errors(value):
            detail = {
                "oneOf": "must validate one and only one schema (oneOf)",
                "anyOf": "must validate at least one schema (anyOf)",
                "allOf": "must validate all the schemas (allOf)",
                "not": "must not validate the schema (not)",
            }.get(str(error.validator), error.message)
            causes.append(field_invalid(path, value, f"{path} in body {detail}"))

    return check


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _is_multiple(value: float, factor: float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    quotient = value / factor
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: bools are not numbers, 1 == 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            json_equal(item, right[key]) for key, item in left.items()
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right
