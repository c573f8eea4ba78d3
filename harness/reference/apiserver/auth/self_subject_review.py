"""SelfSubjectReview (`authentication.k8s.io/v1`, GA in Kubernetes 1.28): who the caller is.

`POST /apis/authentication.k8s.io/v1/selfsubjectreviews` stores nothing and answers 201 with the
caller's user info, as kube-apiserver's selfsubjectreview REST storage does: `kubectl auth
whoami` and `AuthenticationV1Api.create_self_subject_review` read `status.userInfo`.
"""

from __future__ import annotations

from typing import Any

from harness.reference.apiserver.auth.identity import UserInfo
from harness.reference.apiserver.status_errors import bad_request

GROUP = "authentication.k8s.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURAL = "selfsubjectreviews"
KIND = "SelfSubjectReview"


def review(user: UserInfo, body: Any, now: str) -> dict[str, Any]:
    """The answer to one create; `body` is the decoded request (any content is ignored)."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != API_VERSION:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({API_VERSION})"
        )
    if kind and kind != KIND:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({KIND})"
        )
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": now},
        "status": {"userInfo": user_info(user)},
    }


def user_info(user: UserInfo) -> dict[str, Any]:
    """authentication/v1 UserInfo: empty `uid` and `extra` are left out, as Go's JSON does."""
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra.items()}
    return info
