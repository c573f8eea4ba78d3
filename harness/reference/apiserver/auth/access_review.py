"""SelfSubjectAccessReview and SubjectAccessReview (`authorization.k8s.io/v1`): may X do Y?

`POST …/selfsubjectaccessreviews` asks for the caller, `POST …/subjectaccessreviews` for
`spec.user`; nothing is stored and the answer is 201 with `status.allowed`, as kube-apiserver's
REST storage for them does (`kubectl auth can-i`, `kubectl auth can-i --as`). The embedded server
has no RBAC: a request is allowed unless an AccessRule with effect `Deny` matches its attributes,
so the answer is exactly what the same request would meet. Fault rules (Fail, Delay, Reset) are
not authorization and never make an answer "no". Non-resource URLs are always allowed.
"""

from __future__ import annotations

from typing import Any

from harness.reference.apiserver.auth.access_policy import AccessPolicy
from harness.reference.apiserver.auth.identity import Attributes, groups_for
from harness.reference.apiserver.status_errors import bad_request, field_required, invalid

GROUP = "authorization.k8s.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
SELF_PLURAL = "selfsubjectaccessreviews"
SELF_KIND = "SelfSubjectAccessReview"
SUBJECT_PLURAL = "subjectaccessreviews"
SUBJECT_KIND = "SubjectAccessReview"
KINDS = {SELF_PLURAL: SELF_KIND, SUBJECT_PLURAL: SUBJECT_KIND}
ALLOWED_REASON = "the embedded API server allows what no AccessRule denies"


def review(plural: str, caller: str, body: Any, policy: AccessPolicy, now: str) -> dict[str, Any]:
    kind = KINDS[plural]
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    _check_type(body, kind)
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise invalid(kind, GROUP, "", [field_required("spec")])
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise invalid(
            kind,
            GROUP,
            "",
            [
                field_required(
                    "spec.resourceAttributes",
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )
            ],
        )
    if plural == SUBJECT_PLURAL:
        user = spec.get("user")
        if not isinstance(user, str) or not user:
            detail = "at least one of user or group must be specified"
            raise invalid(kind, GROUP, "", [field_required("spec.user", detail)])
    else:
        user = caller
    status = _decide(user, resource, policy) if resource is not None else _allowed()
    echoed = dict(spec)
    if plural == SELF_PLURAL:
        echoed.pop("user", None)
    elif not echoed.get("groups"):
        echoed["groups"] = groups_for(user)
    return {
        "kind": kind,
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": now},
        "spec": echoed,
        "status": status,
    }


def _check_type(body: dict[str, Any], kind: str) -> None:
    api_version, given = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != API_VERSION:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({API_VERSION})"
        )
    if given and given != kind:
        raise bad_request(
            f"the kind in the data ({given}) does not match the expected kind ({kind})"
        )


def _decide(user: str, attributes: Any, policy: AccessPolicy) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise bad_request("spec.resourceAttributes must be an object")
    request = Attributes(
        user=user,
        verb=str(attributes.get("verb") or ""),
        group=str(attributes.get("group") or ""),
        resource=str(attributes.get("resource") or ""),
        subresource=str(attributes.get("subresource") or ""),
        namespace=str(attributes.get("namespace") or ""),
        name=str(attributes.get("name") or ""),
    )
    rule = policy.denying_rule(request)
    if rule is None:
        return _allowed()
    return {"allowed": False, "reason": f"AccessRule {rule} denies it"}


def _allowed() -> dict[str, Any]:
    return {"allowed": True, "reason": ALLOWED_REASON}
