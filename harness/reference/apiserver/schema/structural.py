"""CRD structural schemas: compiled once per CRD registration, then used to prune and default.

A schema becomes a tree of `SchemaNode`s when the CRD is registered; `validation.py` checks
objects against it and `cel.py` attaches the `x-kubernetes-validations` rules to its nodes.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.reference.apiserver.schema.cel import Rule


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)
# Kept at the root and in embedded resources although no schema lists them.
RESOURCE_KEYS = ("apiVersion", "kind", "metadata")


class SchemaError(ValueError):
    """The CRD's schema cannot be used; `path` points into the schema."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class SchemaNode:
    __slots__ = (
        "accepts",
        "additional",
        "checks",
        "combinators",
        "default",
        "embedded",
        "enum",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "has_create_rules",
        "has_defaults",
        "has_general_transition",
        "has_rules",
        "int_or_string",
        "items",
        "list_map_keys",
        "list_type",
        "map_type",
        "max_items",
        "max_length",
        "max_properties",
        "maximum",
        "min_items",
        "min_length",
        "min_properties",
        "minimum",
        "multiple_of",
        "nullable",
        "pattern",
        "pattern_text",
        "preserve_unknown",
        "properties",
        "required",
        "rules",
        "type",
        "unique_items",
    )

    def __init__(self) -> None:
        self.type: str | None = None
        self.nullable = False
        self.int_or_string = False
        self.preserve_unknown = False
        self.embedded = False
        self.properties: dict[str, SchemaNode] | None = None
        self.additional: SchemaNode | None = None
        self.items: SchemaNode | None = None
        self.required: tuple[str, ...] = ()
        self.enum: list[Any] | None = None
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.exclusive_minimum = False
        self.exclusive_maximum = False
        self.multiple_of: float | None = None
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.pattern: re.Pattern[str] | None = None
        self.pattern_text = ""
        self.format: str | None = None
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.unique_items = False
        self.min_properties: int | None = None
        self.max_properties: int | None = None
        self.default: Any = MISSING
        self.list_type: str | None = None
        self.list_map_keys: tuple[str, ...] = ()
        self.map_type: str | None = None
        self.combinators: dict[str, Any] | None = None
        self.rules: list[Rule] = []
        self.has_defaults = False
        self.has_rules = False
        # A rule without oldSelf here or below: something to evaluate on create.
        self.has_create_rules = False
        # A transition rule other than `self == oldSelf` here or below (see cel.py).
        self.has_general_transition = False
        # Built by validation.py on first use: accepted Python types and scalar checks.
        self.accepts: frozenset[type] | None = None
        self.checks: list[Any] | None = None

    def children(self) -> list[SchemaNode]:
        nodes = list((self.properties or {}).values())
        if self.additional is not None:
            nodes.append(self.additional)
        if self.items is not None:
            nodes.append(self.items)
        return nodes


def compile_schema(raw: Any, path: str = "openAPIV3Schema") -> SchemaNode:
    if not isinstance(raw, dict):
        raise SchemaError(path, "must be an object")
    node = SchemaNode()
    type_ = raw.get("type")
    if type_ is not None:
        if type_ not in _TYPES:
            raise SchemaError(f"{path}.type", f"unsupported type {type_!r}")
        node.type = type_
    node.nullable = bool(raw.get("nullable", False))
    node.int_or_string = bool(raw.get("x-kubernetes-int-or-string", False))
    node.preserve_unknown = bool(raw.get("x-kubernetes-preserve-unknown-fields", False))
    node.embedded = bool(raw.get("x-kubernetes-embedded-resource", False))
    if node.type is None and not (node.int_or_string or node.preserve_unknown):
        # Structural schemas need a type; treat a typeless node as "anything, kept".
        node.preserve_unknown = True
    properties = raw.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise SchemaError(f"{path}.properties", "must be an object")
        node.properties = {
            name: compile_schema(sub, f"{path}.properties[{name}]")
            for name, sub in properties.items()
        }
    additional = raw.get("additionalProperties")
    if isinstance(additional, dict):
        node.additional = compile_schema(additional, f"{path}.additionalProperties")
    elif additional is True:
        node.preserve_unknown = True
    if "items" in raw:
        node.items = compile_schema(raw["items"], f"{path}.items")
    required = raw.get("required") or []
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        raise SchemaError(f"{path}.required", "must be a list of strings")
    node.required = tuple(required)
    if "enum" in raw:
        if not isinstance(raw["enum"], list):
            raise SchemaError(f"{path}.enum", "must be a list")
        node.enum = list(raw["enum"])
    node.minimum = _number(raw, "minimum", path)
    node.maximum = _number(raw, "maximum", path)
    node.exclusive_minimum = bool(raw.get("exclusiveMinimum", False))
    node.exclusive_maximum = bool(raw.get("exclusiveMaximum", False))
    node.multiple_of = _number(raw, "multipleOf", path)
    node.min_length = _count(raw, "minLength", path)
    node.max_length = _count(raw, "maxLength", path)
    node.min_items = _count(raw, "minItems", path)
    node.max_items = _count(raw, "maxItems", path)
    node.min_properties = _count(raw, "minProperties", path)
    node.max_properties = _count(raw, "maxProperties", path)
    node.unique_items = bool(raw.get("uniqueItems", False))
    if "pattern" in raw:
        node.pattern_text = str(raw["pattern"])
        try:
            node.pattern = re.compile(node.pattern_text)
        except re.error as error:
            raise SchemaError(f"{path}.pattern", f"invalid regular expression: {error}") from None
    node.format = raw.get("format")
    if "default" in raw:
        node.default = raw["default"]
    node.list_type = raw.get("x-kubernetes-list-type")
    node.list_map_keys = tuple(raw.get("x-kubernetes-list-map-keys") or ())
    node.map_type = raw.get("x-kubernetes-map-type")
    combinators = {key: raw[key] for key in ("allOf", "anyOf", "oneOf", "not") if key in raw}
    node.combinators = combinators or None
    node.has_defaults = node.default is not MISSING or any(
        child.has_defaults for child in node.children()
    )
    return node


def _number(raw: dict[str, Any], key: str, path: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{path}.{key}", "must be a number")
    return value


def _count(raw: dict[str, Any], key: str, path: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"{path}.{key}", "must be a non-negative integer")
    return value


# --- pruning and defaulting --------------------------------------------------------------
#
# `old` is the stored version on updates. A subtree that *is* (identity, not equality) the
# stored one was not supplied by this request: a merge patch shares untouched subtrees with
# the stored object, which was already pruned and defaulted, so it is skipped.


def prune_and_default(obj: dict[str, Any], root: SchemaNode, old: Any = MISSING) -> None:
    """Drop unknown fields and nulls of non-nullable fields, then apply defaults (in place)."""
    _prune_object(obj, root, True, old)


def _prune(value: Any, node: SchemaNode, old: Any = MISSING) -> Any:
    if type(value) is dict:
        if node.type == "object" or node.preserve_unknown:
            _prune_object(value, node, False, old)
    elif type(value) is list and node.items is not None:
        items = node.items
        for item in value:
            _prune(item, items)
    return value


def _prune_object(value: dict[str, Any], node: SchemaNode, root_level: bool, old: Any) -> None:
    properties = node.properties
    additional = node.additional
    old_map = old if type(old) is dict else None
    if properties is not None or additional is not None or not node.preserve_unknown:
        keep_resource_keys = root_level or node.embedded
        for key in list(value):
            if keep_resource_keys and key in RESOURCE_KEYS:
                continue
            child = properties.get(key) if properties is not None else None
            if child is None:
                child = additional
            if child is None:
                if node.preserve_unknown:
                    continue
                del value[key]
                continue
            item = value[key]
            if item is None:
                if not child.nullable:
                    del value[key]
                continue
            if old_map is not None:
                previous = old_map.get(key, MISSING)
                if item is previous:
                    continue
                _prune(item, child, previous)
            else:
                _prune(item, child)
    if properties is not None and node.has_defaults:
        for key, child in properties.items():
            if child.default is not MISSING and key not in value:
                value[key] = _prune(copy.deepcopy(child.default), child)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
