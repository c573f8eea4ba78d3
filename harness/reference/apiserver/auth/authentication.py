"""Authentication as kube-apiserver's bearer-token authenticator does it.

`Authorization: Bearer <token>` (the scheme in any case) names a user if the token is known and
is refused with 401 `Unauthorized` otherwise, on every path, /version and /healthz included.
No header, another scheme, or an empty token (also `Bearer  x`, a space before the token) is no
credential at all: the request goes on as `system:anonymous`, which the authorizer then refuses
almost everything (measured on kube-apiserver 1.37 with its default `--anonymous-auth=true`).
"""

from __future__ import annotations

from harness.reference.apiserver.auth.identity import ANONYMOUS_USER, Tokens, UserInfo
from harness.reference.apiserver.status_errors import ApiError


def authenticate(authorization: str | None, tokens: Tokens) -> UserInfo:
    """The caller behind an Authorization header; never logs or returns the token."""
    header = (authorization or "").strip()
    if not header:
        return ANONYMOUS_USER
    parts = header.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return ANONYMOUS_USER
    user = tokens.lookup(parts[1])
    if user is None:
        raise unauthorized()
    return user


def unauthorized() -> ApiError:
    """responsewriters' 401: a Status with no details."""
    return ApiError(401, "Unauthorized", "Unauthorized")
