"""A request's RBAC attributes from its method, path and query alone, as kube-apiserver's
RequestInfoFactory derives them before anything is looked up.

Authentication, impersonation and authorization run on these, so an anonymous caller is refused
the same way whether or not the resource exists. `/api/v1/...` and `/apis/GROUP/VERSION/...`
with at least one more segment are resource requests: verb from the method (GET on a collection
is `list`, or `watch` with `watch=true`; DELETE on a collection `deletecollection`), namespace
from `namespaces/NS/` (a request on a namespace object has its own name as namespace), then
resource, name and subresource. A list or watch whose field selector requires `metadata.name=X`
has name X. Everything else is a non-resource request whose verb is the lower-case method.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.request_options import query_bool
from harness.reference.apiserver.selectors import exact_match

_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    path: str
    verb: str
    resource_request: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    def attributes(self, user: str, verb: str | None = None) -> Attributes:
        """The authorizer's attributes of this (resource) request, for `user`."""
        return Attributes(
            user=user,
            verb=verb or self.verb,
            group=self.group,
            resource=self.resource,
            subresource=self.subresource,
            namespace=self.namespace,
            name=self.name,
        )


def request_info(method: str, path: str, query: dict[str, str]) -> RequestInfo:
    parts = [part for part in path.split("/") if part]
    plain = RequestInfo(path=path, verb=method.lower())
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return plain
    if parts[0] == "api":
        group, rest = "", parts[1:]
    elif len(parts) < 4:
        return plain
    else:
        group, rest = parts[1], parts[2:]
    version, rest = rest[0], rest[1:]
    verb = _VERBS.get(method, "delete" if method == "DELETE" else "")
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if not name and verb == "get":
        verb = "watch" if query_bool(query.get("watch")) else "list"
        selected = exact_match(query.get("fieldSelector"), "metadata.name")
        if selected and selected not in (".", "..") and not any(c in selected for c in "/%"):
            name = selected
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(
        path=path,
        verb=verb,
        resource_request=True,
        group=group,
        version=version,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )
