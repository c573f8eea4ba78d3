"""CustomResourceDefinition handling: validation, defaults, compiled types and status."""

from __future__ import annotations

from typing import Any

from harness.reference.apiserver.registry import ResourceType, version_priority
from harness.reference.apiserver.schema import cel
from harness.reference.apiserver.schema.structural import SchemaError, compile_schema
from harness.reference.apiserver.status_errors import (
    Cause,
    field_invalid,
    field_not_supported,
    field_required,
)
from harness.reference.apiserver.tables.columns import FORMATS, TYPES

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class CompiledCrd:
    def __init__(self, name: str, resources: list[ResourceType], storage: str) -> None:
        self.name = name
        self.resources = resources
        self.storage = storage


def apply_defaults(crd: dict[str, Any]) -> None:
    """Defaults the real API server fills in (names, conversion, scope)."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})


def compile_crd(crd: dict[str, Any]) -> tuple[CompiledCrd | None, list[Cause]]:
    """Validate a CRD object and build its resource types; returns (compiled, causes)."""
    causes: list[Cause] = []
    name = crd.get("metadata", {}).get("name", "")
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return None, [field_required("spec")]
    group = spec.get("group")
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    plural = names.get("plural")
    kind = names.get("kind")
    if not isinstance(group, str) or not group:
        causes.append(field_required("spec.group"))
    if not isinstance(plural, str) or not plural:
        causes.append(field_required("spec.names.plural"))
    if not isinstance(kind, str) or not kind:
        causes.append(field_required("spec.names.kind"))
    if not causes and name != f"{plural}.{group}":
        causes.append(
            field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    scope = spec.get("scope")
    if scope not in ("Namespaced", "Cluster"):
        causes.append(field_not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(
            field_required(
                "spec.versions", "must have exactly one version marked as storage version"
            )
        )
        return None, causes
    storage = [v.get("name") for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        causes.append(
            field_invalid(
                "spec.versions",
                len(storage),
                "must have exactly one version marked as storage version",
            )
        )
    causes.extend(_printer_column_causes(versions))
    resources: list[ResourceType] = []
    for index, version in enumerate(versions):
        path = f"spec.versions[{index}]"
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            causes.append(field_required(f"{path}.name"))
            continue
        raw_schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if raw_schema is None:
            causes.append(field_required(f"{path}.schema.openAPIV3Schema"))
            continue
        try:
            schema = compile_schema(raw_schema, f"{path}.schema.openAPIV3Schema")
            cel.compile_rules(schema, raw_schema, f"{path}.schema.openAPIV3Schema")
        except SchemaError as error:
            causes.append(field_invalid(error.path, "", error.message))
            continue
        if causes or not version.get("served", True):
            continue
        resources.append(
            ResourceType(
                group=group,
                version=version["name"],
                plural=plural,
                kind=kind,
                namespaced=scope == "Namespaced",
                singular=names.get("singular") or kind.lower(),
                list_kind=names.get("listKind") or f"{kind}List",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in (version.get("subresources") or {}),
                schema=schema,
                raw_schema=raw_schema,
                crd_name=name,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            )
        )
    if causes:
        return None, causes
    resources.sort(key=lambda resource: version_priority(resource.version))
    return CompiledCrd(name, resources, storage[0]), []


def _printer_column_causes(versions: list[Any]) -> list[Cause]:
    """additionalPrinterColumns as kube-apiserver checks them: identical columns in every
    version are checked (and named) once, as `spec.additionalPrinterColumns`."""
    per_version = [
        v.get("additionalPrinterColumns") or [] if isinstance(v, dict) else [] for v in versions
    ]
    if all(columns == per_version[0] for columns in per_version):
        return _column_causes(per_version[0], "spec.additionalPrinterColumns")
    causes: list[Cause] = []
    for index, columns in enumerate(per_version):
        causes.extend(_column_causes(columns, f"spec.versions[{index}].additionalPrinterColumns"))
    return causes


def _column_causes(columns: list[Any], path: str) -> list[Cause]:
    types = "must be one of " + ",".join(TYPES)
    formats = "must be one of " + ",".join(FORMATS)
    causes: list[Cause] = []
    for index, entry in enumerate(columns):
        column = entry if isinstance(entry, dict) else {}
        where = f"{path}[{index}]"
        if not column.get("name"):
            causes.append(field_required(f"{where}.name"))
        type_ = column.get("type")
        if not type_:
            causes.append(field_required(f"{where}.type", types))
        elif type_ not in TYPES:
            causes.append(field_invalid(f"{where}.type", type_, types))
        format_ = column.get("format")
        if format_ and format_ not in FORMATS:
            causes.append(field_invalid(f"{where}.format", format_, formats))
        json_path = column.get("jsonPath")
        if not json_path:
            causes.append(field_required(f"{where}.JSONPath"))
        elif not str(json_path).startswith("."):
            causes.append(
                field_invalid(
                    f"{where}.JSONPath", json_path, "must be a simple json path starting with ."
                )
            )
    return causes


def _storage_version(crd: dict[str, Any]) -> str | None:
    return next((v["name"] for v in crd["spec"]["versions"] if v.get("storage")), None)


def initial_status(crd: dict[str, Any]) -> dict[str, Any]:
    """What a create stores and answers: no conditions and no accepted names yet (the naming
    controller accepts them a moment later), the storage version recorded."""
    storage = _storage_version(crd)
    return {
        "conditions": None,
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": [storage] if storage else [],
    }


def maintained_status(crd: dict[str, Any], now: str, status: Any) -> dict[str, Any]:
    """The status a write keeps: a new storage version is recorded, and a CRD being deleted
    is Terminating."""
    kept = dict(status) if isinstance(status, dict) else initial_status(crd)
    stored = list(kept.get("storedVersions") or [])
    storage = _storage_version(crd)
    if storage and storage not in stored:
        stored.append(storage)
    kept["storedVersions"] = stored
    if crd.get("metadata", {}).get("deletionTimestamp"):
        kept = with_condition(
            kept,
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
            now,
        )
    return kept


def accepted_names(crd: dict[str, Any]) -> dict[str, Any]:
    names = crd["spec"]["names"]
    accepted: dict[str, Any] = {
        "plural": names["plural"],
        "singular": names.get("singular") or names["kind"].lower(),
    }
    if names.get("shortNames"):
        accepted["shortNames"] = list(names["shortNames"])
    accepted["kind"] = names["kind"]
    accepted["listKind"] = names.get("listKind") or names["kind"] + "List"
    if names.get("categories"):
        accepted["categories"] = list(names["categories"])
    return accepted


def with_condition(
    status: dict[str, Any], type_: str, value: str, reason: str, message: str, now: str
) -> dict[str, Any]:
    """`status` with condition `type_` set; its lastTransitionTime moves only with its status."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conditions if c.get("type") == type_), None)
    since = old["lastTransitionTime"] if old and old.get("status") == value else now
    condition = {
        "type": type_,
        "status": value,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }
    if old is None:
        conditions.append(condition)
    else:
        conditions[conditions.index(old)] = condition
    return dict(status, conditions=conditions)


def condition_status(status: Any, type_: str) -> str | None:
    if not isinstance(status, dict):
        return None
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == type_:
            return str(condition.get("status"))
    return None
