"""Authorization of resource requests: their RBAC attributes, the authorizer hook, the refusal.

`request_attributes` derives the attributes the way kube-apiserver's RequestInfoFactory does:
a request on a namespace object (`/api/v1/namespaces/NAME[/status]`) has namespace NAME; a
list or watch whose field selector requires `metadata.name=X` has name X; create and
deletecollection have no name. `refusal` turns a final effect (`gates.py`) into the error the
client sees: kube-apiserver's RBAC 403 for `Deny`, an injected Status for `Fail`.
"""

from __future__ import annotations

from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.gates import DENY, FAIL, Effect, Verdict, failure
from harness.reference.apiserver.registry import NAMESPACES
from harness.reference.apiserver.routes import ResourcePath
from harness.reference.apiserver.selectors import exact_match
from harness.reference.apiserver.status_errors import ApiError, go_value

# kube-apiserver's responsewriters sanitizer: errors must not look like HTML.
_SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class AllowAll:
    """A `Gate` that never touches a request."""

    active = False

    def judge(self, request: Attributes, verdict: Verdict) -> None:
        return None


def request_attributes(
    user: str, verb: str, target: ResourcePath, query: dict[str, str]
) -> Attributes:
    resource = target.resource
    name = target.name or ""
    namespace = target.namespace or ""
    if resource.resource_id == NAMESPACES and name:
        namespace = name
    if verb in ("list", "watch") and not name:
        selected = exact_match(query.get("fieldSelector"), "metadata.name")
        if selected and selected not in (".", "..") and not any(c in selected for c in "/%"):
            name = selected
    return Attributes(
        user=user,
        verb=verb,
        group=resource.group,
        resource=resource.plural,
        subresource=target.subresource or "",
        namespace=namespace,
        name=name,
    )


def refusal(effect: Effect, request: Attributes) -> ApiError:
    """The error a final `Deny` or `Fail` answers with."""
    if effect.kind == DENY:
        return forbidden(request)
    if effect.kind == FAIL:
        return failure(effect, request)
    raise AssertionError(f"{effect.source}: effect {effect.kind!r} is not an HTTP answer")


def forbidden(request: Attributes) -> ApiError:
    """kube-apiserver's RBAC denial: responsewriters.Forbidden wrapped by errors.NewForbidden."""
    resource = request.resource
    if request.subresource:
        resource = f"{resource}/{request.subresource}"
    where = (
        f"in the namespace {go_value(request.namespace)}"
        if request.namespace
        else "at the cluster scope"
    )
    reason = (
        f"User {go_value(request.user)} cannot {request.verb} resource {go_value(resource)} "
        f"in API group {go_value(request.group)} {where}"
    ).translate(_SANITIZE)
    qualified = f"{request.resource}.{request.group}" if request.group else request.resource
    subject = f"{qualified} {go_value(request.name)}" if request.name else qualified
    return ApiError(
        403,
        "Forbidden",
        f"{subject} is forbidden: {reason}",
        name=request.name or None,
        group=request.group,
        kind=request.resource,
    )
