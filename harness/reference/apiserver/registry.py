"""Resource types (built-in and CRD-defined) and the discovery documents derived from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.contract import embedded
from harness.reference.apiserver.auth import access_review, access_rules, self_subject_review
from harness.reference.apiserver.object_store import dumps
from harness.reference.apiserver.schema.structural import SchemaNode, compile_schema
from harness.reference.apiserver.selectors import DEFAULT_FIELDS
from harness.reference.apiserver.status_errors import Cause

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")
SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-osac-harness",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
CRD_GROUP = "apiextensions.k8s.io"
CRD_RESOURCE = "customresourcedefinitions.apiextensions.k8s.io"
NAMESPACES = "namespaces"


@dataclass(eq=False, slots=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    schema: SchemaNode | None = None
    raw_schema: dict[str, Any] | None = None
    field_selectors: tuple[str, ...] = DEFAULT_FIELDS
    crd_name: str | None = None
    # A custom resource version's additionalPrinterColumns (its Table columns).
    printer_columns: tuple[dict[str, Any], ...] = ()
    # Built-ins accept strategic merge patch (applied as a merge patch); custom resources don't.
    strategic_merge: bool = False
    verbs: tuple[str, ...] = ALL_VERBS
    # ServiceAccounts: the `token` subresource mints tokens (TokenRequest).
    token_subresource: bool = False
    # False: nothing is stored, the HTTP layer answers the verbs itself (SelfSubjectReview).
    stored: bool = True
    # A delete that removes the object at once answers the object, not a Status (the real
    # registries with ReturnDeletedObject: pods, namespaces, serviceaccounts).
    returns_deleted_object: bool = False
    # The built-ins whose strategy allows a PUT without metadata.resourceVersion (last write
    # wins); custom resources, CRDs and leases require it.
    unconditional_update: bool = False
    # metadata.generation is kept (set on create, bumped when the content changes): custom
    # resources, CRDs, pods and deployments; configmaps, secrets and the like have none.
    generation: bool = True
    # Semantic checks after the structural schema, on create and update (AccessRule).
    validator: Callable[[dict[str, Any]], list[Cause]] | None = None
    resource_id: str = field(init=False)
    api_version: str = field(init=False)

    def __post_init__(self) -> None:
        self.singular = self.singular or self.kind.lower()
        self.list_kind = self.list_kind or f"{self.kind}List"
        self.resource_id = f"{self.plural}.{self.group}" if self.group else self.plural
        self.api_version = f"{self.group}/{self.version}" if self.group else self.version

    @property
    def is_custom(self) -> bool:
        return self.crd_name is not None

    def discovery_entries(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": list(STATUS_VERBS),
                }
            )
        if self.token_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/token",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "group": "authentication.k8s.io",
                    "version": "v1",
                    "kind": "TokenRequest",
                    "verbs": ["create"],
                }
            )
        return entries


def _builtin_types() -> list[ResourceType]:
    event_fields = (
        *DEFAULT_FIELDS,
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    )
    core: list[ResourceType] = [
        ResourceType(
            "",
            "v1",
            "namespaces",
            "Namespace",
            namespaced=False,
            short_names=("ns",),
            status_subresource=True,
            returns_deleted_object=True,
            field_selectors=(*DEFAULT_FIELDS, "status.phase"),
        ),
        ResourceType(
            "", "v1", "events", "Event", True, short_names=("ev",), field_selectors=event_fields
        ),
        ResourceType("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
        # Stored as plain objects: nothing runs them (the stack's components are processes).
        ResourceType(
            "",
            "v1",
            "pods",
            "Pod",
            True,
            short_names=("po",),
            status_subresource=True,
            returns_deleted_object=True,
        ),
        ResourceType("", "v1", "secrets", "Secret", True),
        ResourceType(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            True,
            short_names=("sa",),
            token_subresource=True,
            returns_deleted_object=True,
        ),
        ResourceType(
            CRD_GROUP,
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            namespaced=False,
            short_names=("crd", "crds"),
            status_subresource=True,
        ),
        ResourceType(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            True,
            short_names=("deploy",),
            status_subresource=True,
        ),
        ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ]
    without_generation = ("namespaces", "events", "configmaps", "secrets", "serviceaccounts")
    for resource in core:
        resource.strategic_merge = True
        resource.unconditional_update = resource.plural not in (
            "customresourcedefinitions",
            "leases",
        )
        resource.generation = resource.plural not in (*without_generation, "leases")
    return [*core, _access_rules(), _self_subject_reviews(), *_access_reviews()]


def _access_rules() -> ResourceType:
    return ResourceType(
        embedded.GROUP,
        embedded.VERSION,
        embedded.ACCESS_RULE_PLURAL,
        embedded.ACCESS_RULE_KIND,
        namespaced=False,
        singular=embedded.ACCESS_RULE_SINGULAR,
        list_kind=embedded.ACCESS_RULE_LIST_KIND,
        schema=compile_schema(access_rules.SCHEMA),
        raw_schema=access_rules.SCHEMA,
        validator=access_rules.validate,
    )


def _self_subject_reviews() -> ResourceType:
    return ResourceType(
        self_subject_review.GROUP,
        self_subject_review.VERSION,
        self_subject_review.PLURAL,
        self_subject_review.KIND,
        namespaced=False,
        verbs=("create",),
        stored=False,
    )


def _access_reviews() -> list[ResourceType]:
    return [
        ResourceType(
            access_review.GROUP,
            access_review.VERSION,
            plural,
            kind,
            namespaced=False,
            verbs=("create",),
            stored=False,
        )
        for plural, kind in access_review.KINDS.items()
    ]


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first, then by name."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor, version)


class Registry:
    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_crd: dict[str, list[ResourceType]] = {}
        self._group_order: list[str] = []
        self._storage_versions: dict[tuple[str, str], str] = {}
        self._discovery: dict[str, bytes] = {}
        for resource in _builtin_types():
            self._add(resource)

    # --- lookup ---------------------------------------------------------------------------

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def namespaces(self) -> ResourceType:
        resource = self._types[("", "v1", NAMESPACES)]
        return resource

    def crds(self) -> ResourceType:
        return self._types[(CRD_GROUP, "v1", "customresourcedefinitions")]

    def storage_type(self, resource_id: str) -> ResourceType | None:
        """The type that owns a storage bucket (for the garbage collector and cleanups)."""
        for resource in self._types.values():
            if resource.resource_id == resource_id:
                storage = self._storage_versions.get((resource.group, resource.plural))
                if storage is None or storage == resource.version:
                    return resource
        return None

    def namespaced_resource_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for resource in self._types.values():
            if resource.namespaced:
                seen.setdefault(resource.resource_id)
        return list(seen)

    def groups(self) -> list[str]:
        return list(self._group_order)

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for resource in self._types.values():
            if resource.api_version == api_version and resource.kind == kind:
                return resource
        return None

    def group_versions(self, group: str) -> list[str]:
        versions = [key[1] for key in self._types if key[0] == group]
        return sorted(set(versions), key=version_priority)

    # --- CRD registration -----------------------------------------------------------------

    def register_crd(self, crd_name: str, resources: list[ResourceType], storage: str) -> None:
        self.unregister_crd(crd_name)
        for resource in resources:
            self._add(resource)
        self._by_crd[crd_name] = resources
        if resources:
            self._storage_versions[(resources[0].group, resources[0].plural)] = storage

    def unregister_crd(self, crd_name: str) -> list[ResourceType]:
        removed = self._by_crd.pop(crd_name, [])
        for resource in removed:
            self._types.pop((resource.group, resource.version, resource.plural), None)
            self._storage_versions.pop((resource.group, resource.plural), None)
        if removed:
            self._group_order = [g for g in self._group_order if self.group_versions(g)]
            self._discovery.clear()
        return removed

    def crd_types(self, crd_name: str) -> list[ResourceType]:
        return self._by_crd.get(crd_name, [])

    def _add(self, resource: ResourceType) -> None:
        self._types[(resource.group, resource.version, resource.plural)] = resource
        if resource.group and resource.group not in self._group_order:
            self._group_order.append(resource.group)
        self._discovery.clear()

    # --- discovery documents (cached until the next registration change) ------------------

    def document(self, key: str, server_address: str) -> bytes | None:
        return self.cached(key, lambda: self._build(key, server_address))

    def cached(self, key: str, build: Callable[[], dict[str, Any] | None]) -> bytes | None:
        """A JSON document derived from the registered types, rebuilt after any change."""
        cached = self._discovery.get(key)
        if cached is not None:
            return cached
        body = build()
        if body is None:
            return None
        encoded = self._discovery[key] = dumps(body)
        return encoded

    def _build(self, key: str, server_address: str) -> dict[str, Any] | None:
        if key == "version":
            return dict(SERVER_VERSION)
        if key == "api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
                ],
            }
        if key == "apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group_document(group) for group in self._group_order],
            }
        if key.startswith("apis/"):
            parts = key.split("/")
            if len(parts) == 2:
                if not self.group_versions(parts[1]):
                    return None
                return {"kind": "APIGroup", "apiVersion": "v1", **self._group_document(parts[1])}
            if len(parts) == 3:
                return self._resource_list(parts[1], parts[2])
        if key == "api/v1":
            return self._resource_list("", "v1")
        return None

    def _group_document(self, group: str) -> dict[str, Any]:
        versions = [
            {"groupVersion": f"{group}/{version}", "version": version}
            for version in self.group_versions(group)
        ]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        resources = [
            resource for (g, v, _), resource in self._types.items() if g == group and v == version
        ]
        if not resources:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [
                entry for resource in resources for entry in resource.discovery_entries()
            ],
        }
