"""A decoded body as the typed object kube-apiserver would decode it into: kind, apiVersion and
the Go types of ObjectMeta's fields.

Custom resources are decoded as unstructured objects: they must name their kind (`Object 'Kind'
is missing`), their apiVersion must be the URL's, and another kind is a 422 on `kind`.
Built-in types default a missing kind and apiVersion from the URL and refuse another one
through the scheme (`no kind "X" is registered`, `unknown conversion`). A metadata field of the
wrong JSON type fails decoding (400 `cannot unmarshal`), before any validation.
"""

from __future__ import annotations

import re
from typing import Any

from harness.reference.apiserver import go_json
from harness.reference.apiserver.object_store import dumps
from harness.reference.apiserver.registry import Registry, ResourceType
from harness.reference.apiserver.request_body import cannot_handle, unrecognized
from harness.reference.apiserver.status_errors import (
    ApiError,
    Cause,
    bad_request,
    field_invalid,
    go_value,
    invalid,
)

SCHEME = "pkg/runtime/scheme.go:111"
TIME_LAYOUT = "2006-01-02T15:04:05Z07:00"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII)
# ObjectMeta's fields and their Go types; maps and lists name their element type too.
_STRINGS = ("name", "generateName", "namespace", "selfLink", "resourceVersion")
_INTEGERS = ("generation", "deletionGracePeriodSeconds")
_TIMES = ("creationTimestamp", "deletionTimestamp")
_MAPS = ("labels", "annotations")
_LISTS = {
    "finalizers": ("[]string", "string"),
    "ownerReferences": ("[]v1.OwnerReference", "v1.OwnerReference"),
    "managedFields": ("[]v1.ManagedFieldsEntry", "v1.ManagedFieldsEntry"),
}


def check(resource: ResourceType, registry: Registry, body: dict[str, Any], raw: bytes) -> None:
    """Raise the real server's error for a body that does not decode as `resource`'s type."""
    if resource.is_custom:
        _check_custom_kind(resource, body, raw)
    else:
        _check_builtin_kind(resource, registry, body)
    detail = meta_type_error(resource, body.get("metadata"))
    if detail is not None:
        kind = body.get("kind") or resource.kind
        raise cannot_handle(kind, resource.version, resource.kind, detail)


def check_patched(resource: ResourceType, patched: dict[str, Any]) -> None:
    """A patched object must still decode: its kind and its metadata's types (422 `patch`)."""
    if resource.is_custom:
        kind = patched.get("kind")
        if isinstance(kind, str) and kind and kind != resource.kind:
            raise _wrong_kind(resource, kind, (patched.get("metadata") or {}).get("name", ""))
    detail = meta_type_error(resource, patched.get("metadata"))
    if detail is not None:
        message = f"Invalid value: {go_value(dumps(patched).decode())}: {detail}"
        raise ApiError(
            422,
            "Invalid",
            f' "" is invalid: patch: {message}',
            causes=[Cause("FieldValueInvalid", message, "patch")],
        )


def _check_custom_kind(resource: ResourceType, body: dict[str, Any], raw: bytes) -> None:
    kind = body.get("kind") or ""
    api_version = body.get("apiVersion") or ""
    if not kind:
        text = raw.decode("utf-8", errors="replace")
        raise unrecognized(resource.kind, f"Object 'Kind' is missing in '{text}'", raw)
    if api_version != resource.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({resource.api_version})"
        )
    if kind != resource.kind:
        raise _wrong_kind(resource, kind, _name_of(body))


def _wrong_kind(resource: ResourceType, kind: str, name: str) -> ApiError:
    cause = field_invalid("kind", kind, f"must be {resource.kind}")
    return invalid(kind, resource.group, name, [cause])


def _name_of(body: dict[str, Any]) -> str:
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _check_builtin_kind(resource: ResourceType, registry: Registry, body: dict[str, Any]) -> None:
    api_version = body.get("apiVersion") or resource.api_version
    kind = body.get("kind") or resource.kind
    version = api_version.rpartition("/")[2]
    if api_version != resource.api_version:
        detail = f'no kind "{kind}" is registered for version "{api_version}" in scheme "{SCHEME}"'
        raise cannot_handle(kind, version, resource.kind, detail)
    if kind == resource.kind:
        return
    other = registry.by_kind(api_version, kind)
    if other is None or other.is_custom:
        detail = f'no kind "{kind}" is registered for version "{api_version}" in scheme "{SCHEME}"'
    else:
        internal = resource.group.split(".")[0] if resource.group else "core"
        detail = (
            f"converting ({version}.{kind}) to ({internal}.{resource.kind}): unknown conversion"
        )
    raise cannot_handle(kind, version, resource.kind, detail)


def meta_type_error(resource: ResourceType, metadata: Any) -> str | None:
    """Go's decoding error for ObjectMeta of the wrong shape, or None."""
    custom = resource.is_custom
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        where = "value" if custom else f"struct field {resource.kind}.metadata"
        shape = go_json.go_type(metadata)
        return f"json: cannot unmarshal {shape} into Go {where} of type v1.ObjectMeta"
    prefix = "ObjectMeta." if custom else "ObjectMeta.metadata."
    for field, value in metadata.items():
        problem = _field_problem(field, value)
        if problem is not None:
            return problem.replace("FIELD", f"struct field {prefix}{field}")
    return None


def _field_problem(field: str, value: Any) -> str | None:
    if value is None:
        return None
    kind = go_json.go_type(value)
    if field in _STRINGS or field == "uid":
        target = "types.UID" if field == "uid" else "string"
        return None if kind == "string" else _mismatch(kind, target)
    if field in _INTEGERS:
        if kind != "number":
            return _mismatch(kind, "int64")
        if isinstance(value, float):
            return f"json: cannot unmarshal number {go_value(value)} into Go FIELD of type int64"
        return None
    if field in _TIMES:
        if kind != "string":
            return _mismatch(kind, "string")
        if not _RFC3339.fullmatch(value):
            quoted = go_value(value)
            return f'parsing time {quoted} as "{TIME_LAYOUT}": cannot parse {quoted} as "2006"'
        return None
    if field in _MAPS:
        if kind != "object":
            return _mismatch(kind, "map[string]string")
        for item in value.values():
            if item is not None and not isinstance(item, str):
                return _mismatch(go_json.go_type(item), "string")
        return None
    if field in _LISTS:
        list_type, item_type = _LISTS[field]
        if kind != "array":
            return _mismatch(kind, list_type)
        for item in value:
            item_kind = go_json.go_type(item)
            expected = "string" if item_type == "string" else "object"
            if item is not None and item_kind != expected:
                return _mismatch(item_kind, item_type)
    return None


def _mismatch(kind: str, target: str) -> str:
    return f"json: cannot unmarshal {kind} into Go FIELD of type {target}"
