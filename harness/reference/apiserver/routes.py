"""URL paths to what they address: discovery documents or a resource (collection, object, status).

Paths: `/api/v1/…` and `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/status]]`;
discovery at `/version`, `/api`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}` (trailing
slashes allowed, as the official client sends them).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.reference.apiserver.registry import Registry, ResourceType
from harness.reference.apiserver.status_errors import path_not_found

SUBRESOURCES = ("status",)


@dataclass(frozen=True, slots=True)
class Discovery:
    key: str  # "version", "api", "api/v1", "apis", "apis/{g}", "apis/{g}/{v}", ...


@dataclass(frozen=True, slots=True)
class ResourcePath:
    resource: ResourceType
    namespace: str | None  # None: cluster-scoped resource, or a list across namespaces
    name: str | None
    subresource: str | None


@dataclass(frozen=True, slots=True)
class OpenApiPath:
    key: str  # "" for the /openapi/v3 root, else "apis/{g}/{v}" or "api/v1"


@dataclass(frozen=True, slots=True)
class Health:
    pass


Target = Discovery | ResourcePath | OpenApiPath | Health


class NotRouted(Exception):
    """A path no handler of kube-apiserver takes: its mux answers a plain-text 404."""


def resolve(path: str, registry: Registry) -> Target:
    """Raises ApiError(404) for an API path the server does not serve, NotRouted for a path
    outside the API (or one starting `//`, which kube-apiserver's mux never matches)."""
    segments = path.split("/")[1:]
    while segments and not segments[-1]:
        segments.pop()  # trailing slashes are allowed, as the official client sends them
    parts = [part for part in segments if part]
    if not parts:
        return Discovery("root")
    head = parts[0]
    if not segments[0]:
        raise NotRouted()
    if len(parts) != len(segments):
        raise path_not_found()  # an empty segment inside an API path
    if head == "version" and len(parts) == 1:
        return Discovery("version")
    if head in ("healthz", "readyz", "livez") and len(parts) == 1:
        return Health()
    if head == "openapi" and len(parts) >= 2 and parts[1] == "v3":
        return OpenApiPath("/".join(parts[2:]))
    if head == "api":
        if len(parts) == 1:
            return Discovery("api")
        if parts[1] != "v1":
            raise path_not_found()
        group, version, rest = "", "v1", parts[2:]
    elif head == "apis":
        if len(parts) <= 2:
            return Discovery("/".join(parts))
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise NotRouted()
    if not rest:
        return Discovery(f"apis/{group}/{version}" if group else "api/v1")
    return _resource_path(group, version, rest, registry)


def _resource_path(group: str, version: str, rest: list[str], registry: Registry) -> ResourcePath:
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespaced = registry.get(group, version, rest[2])
        if namespaced is not None and namespaced.namespaced and len(rest) <= 5:
            name = rest[3] if len(rest) >= 4 else None
            subresource = rest[4] if len(rest) == 5 else None
            return _checked(namespaced, rest[1], name, subresource)
    if len(rest) > 3:
        raise path_not_found()
    resource = registry.get(group, version, rest[0])
    if resource is None:
        raise path_not_found()
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) == 3 else None
    if resource.namespaced and name is not None:
        raise path_not_found()
    return _checked(resource, None, name, subresource)


def _checked(
    resource: ResourceType, namespace: str | None, name: str | None, subresource: str | None
) -> ResourcePath:
    if subresource is not None and not (
        (subresource == "status" and resource.status_subresource)
        or (subresource == "token" and resource.token_subresource)
    ):
        raise path_not_found()
    return ResourcePath(resource, namespace, name, subresource)
