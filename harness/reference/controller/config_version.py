"""`status.desiredConfigVersion`: FNV-1a 64-bit hash (hex) of Go's `json.Marshal(spec)`.

Go marshals the typed spec struct, so the bytes depend on the struct's field order, `omitempty`
tags and value types, not on the stored JSON. `SpecField` lists describe those structs per era
(osac-operator 912735a `ComputeInstanceSpec`, c10285e for era A). Differences from Go, all
outside what the CRD admits: unknown fields are ignored (Go drops them too); numbers are written
as integers; invalid UTF-8 cannot occur in Python strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.contract.timestamps import normalize_rfc3339

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fnv1a_64(data: bytes) -> int:
    value = FNV64_OFFSET
    for byte in data:
        value ^= byte
        value = (value * FNV64_PRIME) & _MASK64
    return value


def fnv1a_64_hex(data: bytes) -> str:
    """Like Go's `hex.EncodeToString(fnv.New64a().Sum(nil))`: 16 lowercase hex digits."""
    return f"{fnv1a_64(data):016x}"


@dataclass(frozen=True)
class SpecField:
    """One Go struct field: JSON name, value kind and whether the tag says `omitempty`.

    Kinds: `string`, `int`, `time` (`*metav1.Time`), `struct` (nested `fields`), `list` (slice
    of `struct` items), `ref` (pointer to struct: omitted only when absent/null).
    """

    name: str
    kind: str
    omitempty: bool = False
    fields: tuple[SpecField, ...] = ()


_DISK = (SpecField("sizeGiB", "int"),)

SPEC_FIELDS_B: tuple[SpecField, ...] = (
    SpecField("templateID", "string"),
    SpecField("templateParameters", "string", omitempty=True),
    SpecField(
        "image",
        "struct",
        fields=(SpecField("sourceType", "string"), SpecField("sourceRef", "string")),
    ),
    SpecField("cores", "int"),
    SpecField("memoryGiB", "int"),
    SpecField("bootDisk", "struct", fields=_DISK),
    SpecField("additionalDisks", "list", omitempty=True, fields=_DISK),
    SpecField("runStrategy", "string"),
    # *corev1.LocalObjectReference; its `name` is `omitempty`.
    SpecField(
        "userDataSecretRef",
        "ref",
        omitempty=True,
        fields=(SpecField("name", "string", omitempty=True),),
    ),
    SpecField("sshKey", "string", omitempty=True),
    SpecField("subnetRef", "string", omitempty=True),
    SpecField("restartRequestedAt", "time", omitempty=True),
)

SPEC_FIELDS_A: tuple[SpecField, ...] = (
    SpecField("templateID", "string", omitempty=True),
    SpecField("templateParameters", "string", omitempty=True),
    SpecField("restartRequestedAt", "time", omitempty=True),
)


def go_json_string(text: str) -> str:
    """A JSON string literal escaped like Go's encoding/json (HTML-safe, U+2028/2029 escaped)."""
    encoded = json.dumps(text, ensure_ascii=False)
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, float):
        return int(value)
    return int(value) if isinstance(value, int) else int(str(value))


def _encode_struct(value: Any, fields: tuple[SpecField, ...]) -> str:
    source = value if isinstance(value, dict) else {}
    parts: list[str] = []
    for spec_field in fields:
        encoded = _encode_field(source.get(spec_field.name), spec_field)
        if encoded is not None:
            parts.append(f"{go_json_string(spec_field.name)}:{encoded}")
    return "{" + ",".join(parts) + "}"


def _encode_field(value: Any, spec_field: SpecField) -> str | None:
    """The encoded value, or None when `omitempty` drops it."""
    kind = spec_field.kind
    if kind == "string":
        text = "" if value is None else str(value)
        return None if spec_field.omitempty and text == "" else go_json_string(text)
    if kind == "int":
        number = _int(value)
        return None if spec_field.omitempty and number == 0 else str(number)
    if kind == "time":
        if value is None:
            return None if spec_field.omitempty else "null"
        return go_json_string(normalize_rfc3339(str(value)))
    if kind == "struct":
        return _encode_struct(value, spec_field.fields)
    if kind == "ref":
        if value is None:
            return None if spec_field.omitempty else "null"
        return _encode_struct(value, spec_field.fields)
    if kind == "list":
        items = value if isinstance(value, list) else []
        if not items:
            return None if spec_field.omitempty else ("[]" if isinstance(value, list) else "null")
        return "[" + ",".join(_encode_struct(item, spec_field.fields) for item in items) + "]"
    raise ValueError(f"unknown spec field kind {kind!r}")


def go_marshal_spec(spec: dict[str, Any] | None, fields: tuple[SpecField, ...]) -> bytes:
    return _encode_struct(spec or {}, fields).encode()


def desired_config_version(spec: dict[str, Any] | None, fields: tuple[SpecField, ...]) -> str:
    return fnv1a_64_hex(go_marshal_spec(spec, fields))
