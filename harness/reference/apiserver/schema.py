"""CRD structural schemas: compile once, then prune, default and validate objects.

A schema is compiled into a tree of `SchemaNode`s when the CRD is registered. The structural core
(type, properties, required, enum, bounds, lengths, pattern, format, items, additionalProperties,
nullable, int-or-string, preserve-unknown-fields, list/map types) is checked by this module
directly: it runs on every write, must produce the real server's per-field causes, and must not
put `jsonschema`'s import (about 0.25 s) on the startup path. The value-only combinators
(`allOf`, `anyOf`, `oneOf`, `not`) are rare in CRDs and are delegated to `jsonschema`, imported on
first use.

Error texts follow kube-openapi as wrapped by apiextensions, for example
`spec.cores: Invalid value: 200: spec.cores in body should be less than or equal to 128`.
"""

from __future__ import annotations

import copy
import math
import re
from typing import TYPE_CHECKING, Any

from harness.contract.timestamps import is_rfc3339
from harness.reference.apiserver.errors import (
    Cause,
    field_duplicate,
    field_invalid,
    field_not_supported,
    field_required,
    field_too_long,
    field_too_many,
    field_type_invalid,
)

if TYPE_CHECKING:
    from harness.reference.apiserver.cel import Rule


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# Kept at the root and in embedded resources although no schema lists them.
_RESOURCE_KEYS = ("apiVersion", "kind", "metadata")


class SchemaError(ValueError):
    """The CRD's schema cannot be used; `path` points into the schema."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class SchemaNode:
    __slots__ = (
        "additional",
        "combinators",
        "default",
        "embedded",
        "enum",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "has_defaults",
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

    def children(self) -> list[SchemaNode]:
        nodes = list((self.properties or {}).values())
        if self.additional is not None:
            nodes.append(self.additional)
        if self.items is not None:
            nodes.append(self.items)
        return nodes

    @property
    def type_name(self) -> str:
        """The type CEL error messages name (`Invalid value: "integer": …`)."""
        if self.int_or_string:
            return "integer-or-string"
        return self.type or "object"


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


def prune_and_default(obj: dict[str, Any], root: SchemaNode) -> None:
    """Drop unknown fields and nulls of non-nullable fields, then apply defaults (in place)."""
    _prune_object(obj, root, root_level=True)


def _prune(value: Any, node: SchemaNode) -> Any:
    if isinstance(value, dict):
        if node.type == "object" or node.preserve_unknown:
            _prune_object(value, node, root_level=False)
    elif isinstance(value, list) and node.items is not None:
        items = node.items
        for index, item in enumerate(value):
            pruned = _prune(item, items)
            if pruned is not item:
                value[index] = pruned
    return value


def _prune_object(value: dict[str, Any], node: SchemaNode, root_level: bool) -> None:
    properties = node.properties
    additional = node.additional
    if properties is not None or additional is not None or not node.preserve_unknown:
        keep_resource_keys = root_level or node.embedded
        for key in list(value):
            if keep_resource_keys and key in _RESOURCE_KEYS:
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
            _prune(item, child)
    if properties is not None and node.has_defaults:
        for key, child in properties.items():
            if child.default is not MISSING and key not in value:
                value[key] = _prune(copy.deepcopy(child.default), child)


# --- validation ---------------------------------------------------------------------------


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


def validate(obj: dict[str, Any], root: SchemaNode) -> list[Cause]:
    """All schema violations of `obj` (metadata, apiVersion and kind excepted)."""
    causes: list[Cause] = []
    properties = root.properties or {}
    for key in root.required:
        if key not in _RESOURCE_KEYS and obj.get(key) is None:
            causes.append(field_required(key))
    for key, value in obj.items():
        if key in _RESOURCE_KEYS:
            continue
        child = properties.get(key) or root.additional
        if child is not None:
            _validate(value, child, key, causes)
    return causes


def _validate(value: Any, node: SchemaNode, path: str, causes: list[Cause]) -> None:
    if value is None:
        if not node.nullable and not node.preserve_unknown:
            causes.append(
                field_type_invalid(
                    path, value, f'{path} in body must be of type {node.type or "object"}: "null"'
                )
            )
        return
    if node.int_or_string:
        if isinstance(value, bool) or not isinstance(value, int | str):
            causes.append(
                field_type_invalid(
                    path,
                    value,
                    f'{path} in body must be of type integer-or-string: "{json_type(value)}"',
                )
            )
            return
    elif node.type is not None and not _type_ok(value, node.type):
        causes.append(
            field_type_invalid(
                path, value, f'{path} in body must be of type {node.type}: "{json_type(value)}"'
            )
        )
        return
    if node.enum is not None and not any(_json_equal(value, option) for option in node.enum):
        causes.append(field_not_supported(path, value, node.enum))
    if isinstance(value, str):
        _validate_string(value, node, path, causes)
    elif isinstance(value, dict):
        _validate_object(value, node, path, causes)
    elif isinstance(value, list):
        _validate_array(value, node, path, causes)
    elif not isinstance(value, bool):
        _validate_number(value, node, path, causes)
    if node.combinators is not None:
        _validate_combinators(value, node, path, causes)


def _type_ok(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _validate_string(value: str, node: SchemaNode, path: str, causes: list[Cause]) -> None:
    if node.min_length is not None and len(value) < node.min_length:
        causes.append(
            field_invalid(
                path, value, f"{path} in body should be at least {node.min_length} chars long"
            )
        )
    if node.max_length is not None and len(value) > node.max_length:
        causes.append(field_too_long(path, node.max_length))
    if node.pattern is not None and node.pattern.search(value) is None:
        causes.append(
            field_invalid(path, value, f"{path} in body should match '{node.pattern_text}'")
        )
    if node.format == "date-time" and not is_rfc3339(value):
        causes.append(
            field_invalid(path, value, f'{path} in body must be of type date-time: "{value}"')
        )


def _validate_number(value: float, node: SchemaNode, path: str, causes: list[Cause]) -> None:
    if node.maximum is not None:
        if node.exclusive_maximum and value >= node.maximum:
            causes.append(
                field_invalid(path, value, f"{path} in body should be less than {_n(node.maximum)}")
            )
        elif value > node.maximum:
            causes.append(
                field_invalid(
                    path,
                    value,
                    f"{path} in body should be less than or equal to {_n(node.maximum)}",
                )
            )
    if node.minimum is not None:
        if node.exclusive_minimum and value <= node.minimum:
            causes.append(
                field_invalid(
                    path, value, f"{path} in body should be greater than {_n(node.minimum)}"
                )
            )
        elif value < node.minimum:
            causes.append(
                field_invalid(
                    path,
                    value,
                    f"{path} in body should be greater than or equal to {_n(node.minimum)}",
                )
            )
    if node.multiple_of and not _is_multiple(value, node.multiple_of):
        causes.append(
            field_invalid(
                path, value, f"{path} in body should be a multiple of {_n(node.multiple_of)}"
            )
        )
    if node.format in ("int32", "int64") and isinstance(value, int):
        low, high = _INT32 if node.format == "int32" else _INT64
        if not low <= value <= high:
            causes.append(
                field_invalid(
                    path, value, f'{path} in body must be of type {node.format}: "{value}"'
                )
            )


def _validate_object(
    value: dict[str, Any], node: SchemaNode, path: str, causes: list[Cause]
) -> None:
    for key in node.required:
        if value.get(key) is None:
            causes.append(field_required(f"{path}.{key}"))
    if node.min_properties is not None and len(value) < node.min_properties:
        causes.append(
            field_invalid(
                path,
                value,
                f"{path} in body should have at least {node.min_properties} properties",
            )
        )
    if node.max_properties is not None and len(value) > node.max_properties:
        causes.append(field_too_many(path, len(value), node.max_properties))
    properties = node.properties
    additional = node.additional
    if properties is None and additional is None:
        return
    for key, item in value.items():
        child = properties.get(key) if properties is not None else None
        if child is not None:
            _validate(item, child, f"{path}.{key}", causes)
        elif additional is not None:
            _validate(item, additional, f"{path}[{key}]", causes)


def _validate_array(value: list[Any], node: SchemaNode, path: str, causes: list[Cause]) -> None:
    if node.min_items is not None and len(value) < node.min_items:
        causes.append(
            field_invalid(
                path, value, f"{path} in body should have at least {node.min_items} items"
            )
        )
    if node.max_items is not None and len(value) > node.max_items:
        causes.append(field_too_many(path, len(value), node.max_items))
    if node.items is not None:
        items = node.items
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", causes)
    if node.unique_items or node.list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if any(_json_equal(item, other) for other in seen):
                causes.append(field_duplicate(f"{path}[{index}]", item))
            seen.append(item)
    elif node.list_type == "map" and node.list_map_keys:
        keys_seen: set[tuple[Any, ...]] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(_hashable(item.get(name)) for name in node.list_map_keys)
            if key in keys_seen:
                causes.append(field_duplicate(f"{path}[{index}]", _key_repr(node, item)))
            keys_seen.add(key)


def _key_repr(node: SchemaNode, item: dict[str, Any]) -> Any:
    if len(node.list_map_keys) == 1:
        return item.get(node.list_map_keys[0])
    return {name: item.get(name) for name in node.list_map_keys}


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return repr(value)
    return value


def _validate_combinators(value: Any, node: SchemaNode, path: str, causes: list[Cause]) -> None:
    import jsonschema

    assert node.combinators is not None
    validator = jsonschema.Draft4Validator(node.combinators)
    for error in validator.iter_errors(value):
        keyword = str(error.validator)
        detail = {
            "oneOf": "must validate one and only one schema (oneOf)",
            "anyOf": "must validate at least one schema (anyOf)",
            "allOf": "must validate all the schemas (allOf)",
            "not": "must not validate the schema (not)",
        }.get(keyword, error.message)
        causes.append(field_invalid(path, value, f"{path} in body {detail}"))


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _is_multiple(value: float, factor: float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    quotient = value / factor
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality: bools are not numbers, 1 == 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(
            _json_equal(item, right[key]) for key, item in left.items()
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            _json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right
