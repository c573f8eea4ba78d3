"""Authorization: who may do what, and the refusals kube-apiserver's RBAC answers with.

The embedded server has no RBAC. An authenticated caller (group `system:authenticated`) may do
everything an AccessRule does not deny (`access_policy.py`); anyone else, `system:anonymous`
above all, only what RBAC's `system:public-info-viewer` role grants: GET of /healthz, /livez,
/readyz, /version and /version/. The attributes are `request_info.RequestInfo`'s. `refusal` turns
a final gate effect (`gates.py`) into the error the client sees: RBAC's 403 for `Deny`, an
injected Status for `Fail`.
"""

from __future__ import annotations

from harness.reference.apiserver.auth.identity import Attributes, UserInfo
from harness.reference.apiserver.gates import DENY, FAIL, Effect, Verdict, failure
from harness.reference.apiserver.request_info import RequestInfo
from harness.reference.apiserver.status_errors import ApiError, go_value

# kube-apiserver's responsewriters sanitizer: errors must not look like HTML.
_SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# The non-resource URLs `system:public-info-viewer` grants everyone, signed in or not.
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})


class AllowAll:
    """A `Gate` that never touches a request."""

    active = False

    def judge(self, request: Attributes, verdict: Verdict) -> None:
        return None


def unauthenticated_refusal(user: UserInfo, info: RequestInfo) -> ApiError | None:
    """The 403 for a caller outside `system:authenticated`, unless the request is public."""
    if user.authenticated:
        return None
    if not info.resource_request:
        if info.verb == "get" and info.path in PUBLIC_PATHS:
            return None
        return path_forbidden(user.name, info.verb, info.path)
    return forbidden(info.attributes(user.name))


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


def path_forbidden(user: str, verb: str, path: str, reason: str = "") -> ApiError:
    """RBAC's denial of a non-resource request: no group or resource, so `details` is empty."""
    message = f"User {go_value(user)} cannot {verb} path {go_value(path)}".translate(_SANITIZE)
    if reason:
        message = f"{message}: {reason}"
    return ApiError(403, "Forbidden", f"forbidden: {message}", empty_details=True)
