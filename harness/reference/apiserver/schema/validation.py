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

from harness.reference.apiserver.go_format import go_float_text, go_json, go_quote
from harness.reference.apiserver.schema import formats
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
# The reasons after which kube-apiserver skips every CEL rule (`hasBlockingErr`).
BLOCKING = frozenset(
    {
        "FieldValueNotSupported",
        "FieldValueRequired",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "FieldValueTypeInvalid",
    }
)
_NUMERIC_FORMATS = frozenset({"int32", "int64", "float", "double"})
_GO_TYPES = {float: "float64", int: "int64"}
# kube-apiserver's field errors without a field print it as `<nil>`.
NO_FIELD = "<nil>"


def validate(obj: dict[str, Any], root: SchemaNode, old: Any = MISSING) -> list[Cause]:
    """All schema violations of `obj` (metadata, apiVersion and kind excepted), in the order
    kube-apiserver reports them: the schema's, then list-type duplicates."""
    causes: list[Cause] = []
    late: list[Cause] = []
    properties = root.properties or {}
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
        _validate(value, child, key, causes, late, previous)
    for key in root.required:
        if key not in RESOURCE_KEYS and obj.get(key) is None:
            causes.append(field_required(key))
    causes.extend(late)
    return causes


def rules_not_checked(causes: list[Cause]) -> Cause | None:
    """When schema violations stop kube-apiserver from running any CEL rule (a wrong type, a
    missing required field, an enum, maxLength, maxItems or maxProperties violation), the
    cause it adds instead; None when the rules run."""
    if not any(cause.reason in BLOCKING for cause in causes):
        return None
    return field_invalid(
        NO_FIELD,
        None,
        "some validation rules were not checked because the object was invalid; correct the "
        "existing errors to complete validation",
    )


def _prepare(node: SchemaNode) -> list[Check]:
    if node.int_or_string:
        node.accepts = _INT_OR_STRING
    elif node.type is not None:
        node.accepts = _ACCEPTS[node.type]
    checks: list[Check] = []
    if node.combinators is not None:
        checks.append(_combinator_check(node.combinators))
    string_check = _string_check(node)
    if string_check is not None:
        checks.append(string_check)
    format_check = _format_check(node)
    if format_check is not None:
        checks.append(format_check)
    if node.type in ("integer", "number") or node.int_or_string:
        checks.append(_number_check(node))
    if node.enum is not None:
        checks.append(_enum_check(node.enum))
    node.checks = checks
    return checks


def _expected_type(node: SchemaNode) -> str:
    return "integer,string" if node.int_or_string else str(node.type)


def _validate(
    value: Any,
    node: SchemaNode,
    path: str,
    causes: list[Cause],
    late: list[Cause],
    old: Any = MISSING,
) -> None:
    """kube-openapi's validators in its order: type, combinators, string, format, number,
    array, enum, object; a type mismatch does not stop the checks that apply to the value."""
    checks = node.checks
    if checks is None:
        checks = _prepare(node)
    if value is None:
        if (node.type is not None or node.int_or_string) and not node.nullable:
            detail = f'{path} in body must be of type {_expected_type(node)}: "null"'
            causes.append(field_type_invalid(path, "null", detail))
        if node.enum is not None and not any(option is None for option in node.enum):
            causes.append(_not_supported(path, value, node.enum))
        return
    kind = type(value)
    accepts = node.accepts
    if accepts is not None and kind not in accepts and not _whole_float(value, node):
        causes.append(_type_mismatch(value, node, path))
    for check in checks:
        check(value, path, causes)
    if kind is dict:
        _validate_object(value, node, path, causes, late, old)
    elif kind is list:
        _validate_array(value, node, path, causes, late)


def _type_mismatch(value: Any, node: SchemaNode, path: str) -> Cause:
    """A value of the wrong type; with a numeric format kube-openapi names the format and the
    Go type of the value instead (`must be of type int32: "float64"`)."""
    if node.format in _NUMERIC_FORMATS and type(value) not in (str, list):
        actual = _GO_TYPES.get(type(value), "")
        detail = f'{path} in body must be of type {node.format}: "{actual}"'
    else:
        actual = json_type(value)
        detail = f'{path} in body must be of type {_expected_type(node)}: "{actual}"'
    return field_type_invalid(path, actual, detail)


def _whole_float(value: Any, node: SchemaNode) -> bool:
    """An integer field takes a float without a fraction (`2.0`), as kube-openapi does."""
    return (
        type(value) is float
        and (node.type == "integer" or node.int_or_string)
        and value.is_integer()
        and abs(value) < 2.0**53
    )


def _validate_object(
    value: dict[str, Any],
    node: SchemaNode,
    path: str,
    causes: list[Cause],
    late: list[Cause],
    old: Any,
) -> None:
    if node.min_properties is not None and len(value) < node.min_properties:
        detail = f"{path} in body should have at least {node.min_properties} properties"
        causes.append(field_invalid(path, len(value), detail))
    if node.max_properties is not None and len(value) > node.max_properties:
        causes.append(field_too_many(path, len(value), node.max_properties))
    properties = node.properties
    additional = node.additional
    if properties is not None or additional is not None:
        old_map = old if type(old) is dict else None
        for key, item in value.items():
            previous = MISSING
            if old_map is not None:
                previous = old_map.get(key, MISSING)
                if item is previous:
                    continue
            child = properties.get(key) if properties is not None else None
            if child is None:
                child = additional
            if child is not None:
                _validate(item, child, f"{path}.{key}", causes, late, previous)
    for key in node.required:
        if value.get(key) is None:
            causes.append(field_required(f"{path}.{key}"))


def _validate_array(
    value: list[Any], node: SchemaNode, path: str, causes: list[Cause], late: list[Cause]
) -> None:
    items = node.items
    if items is not None:
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", causes, late)
    if node.min_items is not None and len(value) < node.min_items:
        detail = f"{path} in body should have at least {node.min_items} items"
        causes.append(field_invalid(path, len(value), detail))
    if node.max_items is not None and len(value) > node.max_items:
        causes.append(field_too_many(path, len(value), node.max_items))
    if node.unique_items or node.list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if any(json_equal(item, other) for other in seen):
                late.append(field_duplicate(f"{path}[{index}]", item))
            seen.append(item)
    elif node.list_type == "map" and node.list_map_keys:
        keys_seen: set[str] = set()
        for index, item in enumerate(value):
            if type(item) is not dict:
                continue
            key = {name: item[name] for name in node.list_map_keys if name in item}
            marker = repr(sorted(key.items()))
            if marker in keys_seen:
                late.append(field_duplicate(f"{path}[{index}]", key))
            keys_seen.add(marker)


# --- scalar checks, built once per node ---------------------------------------------------


def _not_supported(path: str, value: Any, options: list[Any]) -> Cause:
    """Enum values as kube-apiserver lists them: strings as they are, the rest as JSON."""
    shown = [option if isinstance(option, str) else go_json(option) for option in options]
    return field_not_supported(path, value, shown)


def _enum_check(options: list[Any]) -> Check:
    def check(value: Any, path: str, causes: list[Cause]) -> None:
        if not any(json_equal(value, option) for option in options):
            causes.append(_not_supported(path, value, options))

    return check


def _string_check(node: SchemaNode) -> Check | None:
    """maxLength, minLength, pattern: the first that fails is reported."""
    min_length, max_length, pattern = node.min_length, node.max_length, node.pattern
    if min_length is None and max_length is None and pattern is None:
        return None
    search = pattern.search if pattern is not None else None
    text = node.pattern_text

    def check(value: Any, path: str, causes: list[Cause]) -> None:
        if type(value) is not str:
            return
        if max_length is not None and len(value) > max_length:
            causes.append(field_too_long(path, max_length))
        elif min_length is not None and len(value) < min_length:
            detail = f"{path} in body should be at least {min_length} chars long"
            causes.append(field_invalid(path, value, detail))
        elif search is not None and search(value) is None:
            causes.append(field_invalid(path, value, f"{path} in body should match '{text}'"))

    return check


def _format_check(node: SchemaNode) -> Check | None:
    valid = formats.checker(node.format, node.type)
    if valid is None:
        return None
    name = str(node.format)

    def check(value: Any, path: str, causes: list[Cause]) -> None:
        if type(value) is str and not valid(value):
            detail = f"{path} in body must be of type {name}: {go_quote(value)}"
            causes.append(field_type_invalid(path, value, detail))

    return check


def _number_check(node: SchemaNode) -> Check:
    """The integer range of the format, then multipleOf, minimum, maximum (kube-openapi's
    order). An integer value meets a bound truncated to an integer, as kube-openapi's native
    comparison does (`minimum: 1.5` lets 1 through), and the message prints the bound so."""
    maximum, minimum, multiple = node.maximum, node.minimum, node.multiple_of
    exclusive_max, exclusive_min = node.exclusive_maximum, node.exclusive_minimum
    integer = node.type == "integer"
    low, high = INT32_RANGE if node.format == "int32" else INT64_RANGE
    range_name = (
        "with format int32"
        if node.format == "int32"
        else ("with format int64" if node.format == "int64" else "(default format)")
    )

    def check(value: Any, path: str, causes: list[Cause]) -> None:
        if type(value) not in (int, float):
            return
        native = type(value) is int
        if integer and not _fits_integer(value, low, high):
            detail = f"Checked value must be of type integer {range_name} in {path}"
            causes.append(field_invalid(NO_FIELD, "", detail))
        if multiple:
            factor = int(multiple) if native else multiple
            if factor and not _is_multiple(value, factor):
                detail = f"{path} in body should be a multiple of {_bound(factor, native)}"
                causes.append(field_invalid(path, value, detail))
        if minimum is not None:
            bound = int(minimum) if native else minimum
            if value < bound or (exclusive_min and value == bound):
                relation = "greater than" if exclusive_min else "greater than or equal to"
                detail = f"{path} in body should be {relation} {_bound(bound, native)}"
                causes.append(field_invalid(path, value, detail))
        if maximum is not None:
            bound = int(maximum) if native else maximum
            if value > bound or (exclusive_max and value == bound):
                relation = "less than" if exclusive_max else "less than or equal to"
                detail = f"{path} in body should be {relation} {_bound(bound, native)}"
                causes.append(field_invalid(path, value, detail))

    return check


def _fits_integer(value: Any, low: int, high: int) -> bool:
    if type(value) is float:
        if not value.is_integer():
            return False
        value = int(value)
    return bool(low <= value <= high)


def _bound(bound: float, native: bool) -> str:
    return str(int(bound)) if native else go_float_text(float(bound))


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
