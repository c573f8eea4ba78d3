"""`x-kubernetes-validations` (CEL rules), compiled once per CRD registration.

Rules go through `celpy` (cel-python), imported only when a CRD has a rule that needs it. Rules
that mention `oldSelf` are transition rules: evaluated on update only, and only where the old
object has a correlatable value (object properties, `map`/`set` list items; never items of
atomic lists).

Fast path: a rule whose expression is exactly `self == oldSelf` (whitespace-insensitive) is the
immutability idiom of the ComputeInstance CRD (7-9 rules per update), and evaluating each with
cel-python would dominate the cost of an update. `cel_equal` computes the same outcome as
celpy's `==` on the schema-typed values (True, False, or an evaluation error for mismatched
types, with CEL's commutative `&&` over list and map members) without celpy.
`tests/apiserver/test_cel_fast_path.py` checks it against celpy on a matrix of values.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from harness.contract.timestamps import TimestampError, parse_rfc3339
from harness.reference.apiserver.go_format import go_value
from harness.reference.apiserver.schema.structural import MISSING, SchemaError, SchemaNode
from harness.reference.apiserver.status_errors import Cause, field_invalid

_FAST_EQUAL = re.compile(r"^\s*self\s*==\s*oldSelf\s*$")
_USES_OLD_SELF = re.compile(r"\boldSelf\b")
_FIELD_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]")
# An evaluated messageExpression longer than this falls back to the message.
MAX_MESSAGE_BYTES = 5000
_REASONS = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate")


class CelEvalError(Exception):
    pass


@functools.cache
def _celpy_environment() -> Any:
    import celpy

    return celpy.Environment()


@dataclass(slots=True)
class Rule:
    expression: str
    message: str | None = None
    message_expression: str | None = None
    reason: str = "FieldValueInvalid"
    field_path: str = ""
    transition: bool = False
    fast_equal: bool = False
    program: Any = None
    message_program: Any = field(default=None, repr=False)

    def failure_detail(self) -> str:
        """`ruleMessageOrDefault`: the trimmed message, else `failed rule: <rule>`."""
        message = (self.message or "").strip()
        return message or f"failed rule: {self.expression.strip()}"

    def error_name(self) -> str:
        """`ruleErrorString`: how an evaluation error names the rule."""
        return (self.message or "").strip() or self.expression.strip()


def compile_rules(node: SchemaNode, raw: dict[str, Any], path: str = "openAPIV3Schema") -> None:
    """Attach compiled rules from the raw schema `raw` to the compiled tree `node`."""
    rules = raw.get("x-kubernetes-validations") or []
    if not isinstance(rules, list):
        raise SchemaError(f"{path}.x-kubernetes-validations", "must be a list")
    node.rules = [
        _compile_rule(spec, f"{path}.x-kubernetes-validations[{index}]")
        for index, spec in enumerate(rules)
    ]
    for rule in node.rules:
        rule.field_path = _normalized_field_path(rule.field_path, node)
    for key, child in (node.properties or {}).items():
        compile_rules(child, raw["properties"][key], f"{path}.properties[{key}]")
    if node.additional is not None:
        compile_rules(node.additional, raw["additionalProperties"], f"{path}.additionalProperties")
    if node.items is not None:
        compile_rules(node.items, raw["items"], f"{path}.items")
    node.has_rules = bool(node.rules) or any(child.has_rules for child in node.children())
    node.has_create_rules = any(not rule.transition for rule in node.rules) or any(
        child.has_create_rules for child in node.children()
    )
    node.has_general_transition = any(
        rule.transition and not rule.fast_equal for rule in node.rules
    ) or any(child.has_general_transition for child in node.children())


def _compile_rule(spec: Any, path: str) -> Rule:
    if not isinstance(spec, dict) or not isinstance(spec.get("rule"), str):
        raise SchemaError(f"{path}.rule", "Required value")
    expression = spec["rule"]
    reason = spec.get("reason") or "FieldValueInvalid"
    if reason not in _REASONS:
        raise SchemaError(f"{path}.reason", f"Unsupported value: {reason!r}")
    rule = Rule(
        expression=expression,
        message=spec.get("message"),
        message_expression=spec.get("messageExpression"),
        reason=reason,
        field_path=spec.get("fieldPath") or "",
        transition=bool(_USES_OLD_SELF.search(expression)),
        fast_equal=bool(_FAST_EQUAL.match(expression)),
    )
    if not rule.fast_equal:
        rule.program = _compile_program(expression, f"{path}.rule")
    if rule.message_expression:
        rule.message_program = _compile_program(
            rule.message_expression, f"{path}.messageExpression"
        )
    return rule


def _compile_program(expression: str, path: str) -> Any:
    environment = _celpy_environment()
    try:
        return environment.program(environment.compile(expression))
    except Exception as error:  # celpy raises its own parse error types
        raise SchemaError(path, f"compilation failed: {error}") from None


def validate(obj: dict[str, Any], old: Any, root: SchemaNode) -> list[Cause]:
    """Violations of every rule in `obj`; `old` is MISSING on create."""
    causes: list[Cause] = []
    if root.has_rules and (old is not MISSING or root.has_create_rules):
        _check(root, obj, old, "", causes)
    return causes


def _check(node: SchemaNode, value: Any, old: Any, path: str, causes: list[Cause]) -> None:
    if value is None:
        return
    unchanged = value is old
    if unchanged and not node.has_general_transition:
        # The stored value itself: rules without oldSelf are ratcheted (as the real server
        # does for unchanged values) and `self == oldSelf` holds trivially.
        return
    for rule in node.rules:
        if rule.transition and old is MISSING:
            continue
        if unchanged and (rule.fast_equal or not rule.transition):
            continue
        failure = _run(rule, node, value, old)
        if failure is not None:
            causes.append(_cause(rule, node, path, value, failure))
    if isinstance(value, dict):
        properties = node.properties
        if properties is not None:
            old_map = old if isinstance(old, dict) else None
            for key, child in properties.items():
                if child.has_rules and key in value:
                    child_old = old_map.get(key, MISSING) if old_map is not None else MISSING
                    _check(child, value[key], child_old, _join(path, key), causes)
        additional = node.additional
        if additional is not None and additional.has_rules:
            old_map = old if isinstance(old, dict) else None
            for key, item in value.items():
                if properties is not None and key in properties:
                    continue
                child_old = old_map.get(key, MISSING) if old_map is not None else MISSING
                _check(additional, item, child_old, f"{path}[{key}]", causes)
    elif isinstance(value, list) and node.items is not None and node.items.has_rules:
        olds = _correlate(node, value, old)
        for index, item in enumerate(value):
            _check(node.items, item, olds[index], f"{path}[{index}]", causes)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _correlate(node: SchemaNode, value: list[Any], old: Any) -> list[Any]:
    """Old counterparts of list items: by map keys, by value for sets, none for atomic lists."""
    if not isinstance(old, list) or not old:
        return [MISSING] * len(value)
    if node.list_type == "map" and node.list_map_keys:
        keys = node.list_map_keys
        by_key = {
            tuple(repr(item.get(name)) for name in keys): item
            for item in old
            if isinstance(item, dict)
        }
        return [
            by_key.get(tuple(repr(item.get(name)) for name in keys), MISSING)
            if isinstance(item, dict)
            else MISSING
            for item in value
        ]
    if node.list_type == "set":
        return [item if item in old else MISSING for item in value]
    return [MISSING] * len(value)


def _run(rule: Rule, node: SchemaNode, value: Any, old: Any) -> tuple[str, bool] | None:
    """None when the rule holds; else the failure detail, and whether evaluation failed."""
    try:
        if rule.fast_equal:
            holds = cel_equal(value, old, node)
        else:
            activation = {"self": to_cel(value, node)}
            if rule.transition:
                activation["oldSelf"] = to_cel(old, node)
            result = rule.program.evaluate(activation)
            if isinstance(result, Exception):
                raise CelEvalError(str(result))
            holds = bool(result) if _is_cel_bool(result) else False
    except Exception as error:
        return _evaluation_error(rule, error), True
    if holds:
        return None
    if rule.message_program is not None:
        message = _message_from_expression(rule, node, value, old)
        if message:
            return message, False
    return rule.failure_detail(), False


def _evaluation_error(rule: Rule, error: Exception) -> str:
    """The detail kube-apiserver gives a rule whose evaluation failed, with cel-go's wording
    for the errors celpy names otherwise."""
    text = _short(error)
    if text.startswith("found no matching overload"):
        return (
            "'no such overload': call arguments did not match a supported operator, function or "
            f"macro signature for rule: {rule.error_name()}"
        )
    if text == "modulus or divide by zero":
        text = (
            "modulus by zero"
            if "%" in rule.expression and "/" not in rule.expression
            else ("division by zero")
        )
    elif text == "return error for overflow":
        text = "integer overflow"
    elif text.startswith("no such member in mapping: "):
        text = "no such key: " + text.removeprefix("no such member in mapping: ").strip("'")
    elif text == "invalid_argument":
        text = "index out of bounds"
    return f"{text} evaluating rule: {rule.error_name()}"


def _is_cel_bool(result: Any) -> bool:
    from celpy import celtypes

    return isinstance(result, celtypes.BoolType)


def _message_from_expression(rule: Rule, node: SchemaNode, value: Any, old: Any) -> str | None:
    activation = {"self": to_cel(value, node)}
    if rule.transition:
        activation["oldSelf"] = to_cel(old, node)
    try:
        result = rule.message_program.evaluate(activation)
    except Exception:
        return None
    if not isinstance(result, str):
        return None
    message = result.strip()
    if not message or "\n" in message or len(message.encode()) > MAX_MESSAGE_BYTES:
        return None
    return message


def _short(error: Exception) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return text.splitlines()[0][:200]


def _cause(rule: Rule, node: SchemaNode, path: str, value: Any, failure: tuple[str, bool]) -> Cause:
    """The field error of a failed rule: the value is named unless it is an object or a list;
    an evaluation error names the field's type instead."""
    detail, errored = failure
    if errored:
        return field_invalid(path, node.type or "", detail)
    field_path = _join_field_path(path, rule.field_path)
    shown = "" if node.type in ("object", "array") else f"{go_value(value)}: "
    if rule.reason == "FieldValueForbidden":
        return Cause(rule.reason, f"Forbidden: {detail}", field_path)
    if rule.reason == "FieldValueRequired":
        return Cause(rule.reason, f"Required value: {detail}", field_path)
    if rule.reason == "FieldValueDuplicate":
        return Cause(
            rule.reason, "Duplicate value" + (f": {shown[:-2]}" if shown else ""), field_path
        )
    return Cause("FieldValueInvalid", f"Invalid value: {shown}{detail}", field_path)


def _join_field_path(path: str, relative: str) -> str:
    if not relative:
        return path
    if relative.startswith("[") or not path:
        return path + relative
    return f"{path}.{relative}"


def _normalized_field_path(field_path: str, node: SchemaNode) -> str:
    """A rule's `fieldPath` (`.a`, `.m['k.x']`) as a field path (`a`, `m[k.x]`): a quoted key
    of an object's property is a child, of a map an entry."""
    if not field_path:
        return ""
    parts: list[str] = []
    current: SchemaNode | None = node
    for name, quoted in _FIELD_PATH_TOKEN.findall(field_path):
        key = name or quoted.replace("\\'", "'")
        is_property = current is not None and current.properties is not None
        if name or is_property:
            parts.append(("." if parts else "") + key)
            current = (current.properties or {}).get(key) if current is not None else None
        else:
            parts.append(f"[{key}]")
            current = current.additional if current is not None else None
    return "".join(parts) if parts else field_path.lstrip(".")


# --- schema-typed conversion to celpy values ----------------------------------------------


def to_cel(value: Any, node: SchemaNode | None) -> Any:
    """Like `celpy.json_to_cel`, but numbers of `type: number` fields are doubles (as in k8s)."""
    from celpy import celtypes

    if value is None or value is MISSING:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if node is not None and node.type == "number":
            return celtypes.DoubleType(float(value))
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return _string_to_cel(value, node)
    if isinstance(value, list):
        items = node.items if node is not None else None
        return celtypes.ListType([to_cel(item, items) for item in value])
    if isinstance(value, dict):
        return celtypes.MapType(
            {
                celtypes.StringType(key): to_cel(item, _child(node, key))
                for key, item in value.items()
            }
        )
    raise CelEvalError(f"unsupported value type {type(value).__name__}")


def _string_to_cel(value: str, node: SchemaNode | None) -> Any:
    """A string, or for `format: date-time` / `duration` a CEL timestamp / duration, as
    Kubernetes types them."""
    from celpy import celtypes

    schema_format = node.format if node is not None else None
    try:
        if schema_format == "date-time":
            return celtypes.TimestampType(value)
        if schema_format == "duration":
            return celtypes.DurationType(value)
    except ValueError:
        pass
    return celtypes.StringType(value)


def _child(node: SchemaNode | None, key: str) -> SchemaNode | None:
    if node is None:
        return None
    if node.properties is not None and key in node.properties:
        return node.properties[key]
    return node.additional


# --- fast path: `self == oldSelf` ---------------------------------------------------------

_ERROR: Any = object()
# Outcome of celpy's `==` for values of different CEL kinds (left = self, right = oldSelf):
# False where Python's reflected comparison falls back to identity, an error otherwise.
# bool == int compares numerically (celpy's BoolType is an int); int == bool is an error.
_MIXED_FALSE = frozenset(
    {
        ("null", "bool"),
        ("null", "string"),
        ("null", "list"),
        ("null", "map"),
        ("bool", "null"),
        ("bool", "string"),
        ("string", "null"),
        ("string", "bool"),
        ("list", "null"),
        ("map", "null"),
    }
)


def cel_equal(left: Any, right: Any, node: SchemaNode | None) -> bool:
    """celpy's outcome of `self == oldSelf` on schema-typed values; raises CelEvalError."""
    result = _equal(left, right, node)
    if result is _ERROR:
        raise CelEvalError("no such overload for _==_")
    return bool(result)


def _kind(value: Any, node: SchemaNode | None) -> str:
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "double" if node is not None and node.type == "number" else "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "unknown"


def _equal(left: Any, right: Any, node: SchemaNode | None) -> Any:
    left_kind = _kind(left, node)
    right_kind = _kind(right, node)
    if left_kind == right_kind:
        if left_kind == "list":
            if len(left) != len(right):
                return False
            items = node.items if node is not None else None
            return _fold(_equal(a, b, items) for a, b in zip(left, right, strict=True))
        if left_kind == "map":
            if left.keys() != right.keys():
                return False
            return _fold(_equal(item, right[key], _child(node, key)) for key, item in left.items())
        if left_kind == "double":
            return float(left) == float(right)
        if left_kind == "string" and node is not None and node.format == "date-time":
            return _same_instant(left, right)
        if left_kind == "unknown":
            return _ERROR
        return left == right
    if left_kind == "bool" and right_kind == "int":
        return int(left) == right
    return False if (left_kind, right_kind) in _MIXED_FALSE else _ERROR


def _same_instant(left: str, right: str) -> bool:
    """Timestamps compare as instants (`2026-01-01T00:00:00Z` is `...00.000Z`)."""
    try:
        return parse_rfc3339(left) == parse_rfc3339(right)
    except TimestampError:
        return left == right


def _fold(results: Any) -> Any:
    """celpy's reduce with CEL's commutative `&&`: false absorbs an error, two errors raise."""
    accumulated: Any = True
    for result in results:
        if accumulated is _ERROR:
            if result is _ERROR:
                return _ERROR
            accumulated = _ERROR if result else False
        elif result is _ERROR:
            accumulated = _ERROR if accumulated else False
        else:
            accumulated = accumulated and result
    return accumulated
