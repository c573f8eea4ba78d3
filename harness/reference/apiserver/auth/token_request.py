"""TokenRequest, the `serviceaccounts/token` subresource (`kubectl create token`, and the official
client's `create_namespaced_service_account_token`): a new bearer token for a ServiceAccount.

`POST /api/v1/namespaces/NS/serviceaccounts/NAME/token` with an `authentication.k8s.io/v1`
TokenRequest answers 201 with `status.token` and `status.expirationTimestamp`; from then on the
server authenticates that token as `system:serviceaccount:NS:NAME`. The ServiceAccount must
exist (404 otherwise); `spec.expirationSeconds` must be at least 600, as kube-apiserver demands
(default 3600). Tokens live in memory and are not enforced to expire: nothing here runs that
long. The token is never logged.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from harness.reference.apiserver.auth.identity import SERVICE_ACCOUNT_PREFIX, Tokens
from harness.reference.apiserver.status_errors import bad_request, field_invalid, invalid

GROUP = "authentication.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "TokenRequest"
MIN_SECONDS = 600
DEFAULT_SECONDS = 3600


def issue(tokens: Tokens, namespace: str, name: str, body: Any, now: str) -> dict[str, Any]:
    """Mint a token for the (existing) ServiceAccount NAMESPACE/NAME; `body` is the request."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    if body.get("apiVersion") not in (None, API_VERSION) or body.get("kind") not in (None, KIND):
        raise bad_request(f"expected {API_VERSION} {KIND}")
    spec = body.get("spec") or {}
    seconds = spec.get("expirationSeconds") or DEFAULT_SECONDS
    if not isinstance(seconds, int) or seconds < MIN_SECONDS:
        cause = field_invalid(
            "spec.expirationSeconds",
            seconds,
            f"may not specify a duration less than {MIN_SECONDS} seconds",
        )
        raise invalid(KIND, GROUP, name, [cause])
    token = secrets.token_hex(32)
    tokens.add(token, f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}")
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now},
        "spec": {
            "audiences": spec.get("audiences") or ["https://kubernetes.default.svc"],
            "expirationSeconds": seconds,
            "boundObjectRef": spec.get("boundObjectRef"),
        },
        "status": {"token": token, "expirationTimestamp": expires},
    }
