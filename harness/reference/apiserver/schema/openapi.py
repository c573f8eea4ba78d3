"""Just enough OpenAPI v3 for `kubectl apply` to validate on the server side.

kubectl (1.27+) looks up `/openapi/v3`, fetches the group-version document and checks whether
the PATCH operation for the object's kind declares the `fieldValidation` query parameter. If it
does, kubectl leaves validation to the server and never downloads `/openapi/v2` (which this
server does not serve). The documents also carry each custom resource's schema, so
`kubectl explain` has something to show. `fieldValidation` itself is accepted and ignored:
unknown fields are pruned, as with `fieldValidation=Ignore`.
"""

from __future__ import annotations

from typing import Any

from harness.reference.apiserver.registry import Registry, ResourceType

_JSON_CONTENT = {"schema": {"type": "object"}}


def document(key: str, registry: Registry) -> bytes | None:
    return registry.cached(f"openapi/v3/{key}", lambda: _build(key, registry))


def _build(key: str, registry: Registry) -> dict[str, Any] | None:
    if key == "":
        return {
            "paths": {
                gv: {"serverRelativeURL": f"/openapi/v3/{gv}"} for gv in _group_versions(registry)
            }
        }
    if key not in _group_versions(registry):
        return None
    if key == "api/v1":
        group, version = "", "v1"
    else:
        _, group, version = key.split("/")
    resources = [r for r in registry.types() if r.group == group and r.version == version]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for resource in resources:
        paths.update(_paths(resource))
        schemas[_schema_name(resource)] = _schema(resource)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _group_versions(registry: Registry) -> list[str]:
    versions = ["api/v1"]
    for group in registry.groups():
        versions.extend(f"apis/{group}/{version}" for version in registry.group_versions(group))
    return versions


def _gvk(resource: ResourceType) -> dict[str, str]:
    return {"group": resource.group, "version": resource.version, "kind": resource.kind}


def _schema_name(resource: ResourceType) -> str:
    group = ".".join(reversed(resource.group.split("."))) if resource.group else "io.k8s.api.core"
    return f"{group}.{resource.version}.{resource.kind}"


def _schema(resource: ResourceType) -> dict[str, Any]:
    schema = dict(
        resource.raw_schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    schema["x-kubernetes-group-version-kind"] = [_gvk(resource)]
    return schema


def _paths(resource: ResourceType) -> dict[str, Any]:
    prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
    scope = f"{prefix}/namespaces/{{namespace}}" if resource.namespaced else prefix
    reference = {"$ref": f"#/components/schemas/{_schema_name(resource)}"}
    # Strategic merge is not declared even for built-ins: kubectl would then compute the patch
    # from these skeletal schemas; without it, kubectl uses its compiled-in types instead.
    patch_types = ["application/json-patch+json", "application/merge-patch+json"]
    field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
    extensions = {"x-kubernetes-group-version-kind": _gvk(resource)}
    body = {"content": {"application/json": {"schema": reference}}}
    operations = {
        "post": ("create", {"parameters": [field_validation], "requestBody": body, **extensions}),
        "get": ("list", {**extensions}),
    }
    item_operations = {
        "get": ("get", {**extensions}),
        "put": ("update", {"parameters": [field_validation], "requestBody": body, **extensions}),
        "patch": (
            "patch",
            {
                "parameters": [field_validation],
                "requestBody": {"content": {t: _JSON_CONTENT for t in patch_types}},
                **extensions,
            },
        ),
        "delete": ("delete", {**extensions}),
    }
    paths: dict[str, Any] = {}
    for path, table in (
        (f"{scope}/{resource.plural}", operations),
        (f"{scope}/{resource.plural}/{{name}}", item_operations),
    ):
        served = {method: op for method, (verb, op) in table.items() if verb in resource.verbs}
        if served:
            paths[path] = served
    return paths
