"""Who is calling: bearer tokens to user names, the groups of a user, and request attributes.

Every token is accepted: a known one is its user, an unknown one is user `unknown`, no token is
`system:anonymous`. The identity travels with each request (into the request log, the access
rules of `authorization.py` and SelfSubjectReview).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ANONYMOUS = "system:anonymous"
UNKNOWN = "unknown"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS = "system:serviceaccounts"


class TokenFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a request wants to do, in RBAC terms (kube-apiserver's authorizer.Attributes)."""

    user: str
    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str


class Tokens:
    def __init__(self, users_by_token: dict[str, str] | None = None) -> None:
        self._users = users_by_token or {}

    @classmethod
    def load(cls, path: Path) -> Tokens:
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            raise TokenFileError(f"cannot read token file {path}: {error.strerror}") from None
        except ValueError as error:
            raise TokenFileError(f"token file {path} is not valid JSON: {error}") from None
        entries = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TokenFileError(f'token file {path} must hold {{"tokens": [...]}}')
        users: dict[str, str] = {}
        for index, item in enumerate(entries):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("token"), str)
                or not isinstance(item.get("user"), str)
            ):
                raise TokenFileError(
                    f"token file {path}: entry {index} needs string fields 'token' and 'user'"
                )
            users[item["token"]] = item["user"]
        return cls(users)

    def add(self, token: str, user: str) -> None:
        """A token minted at run time (TokenRequest)."""
        self._users[token] = user

    def user_for(self, authorization: str | None) -> str:
        """The user behind an Authorization header; never returns or logs the token itself."""
        if not authorization:
            return ANONYMOUS
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return UNKNOWN
        return self._users.get(credential.strip(), UNKNOWN)


def groups_for(user: str) -> list[str]:
    """The groups kube-apiserver's authenticators give `user`, in their order.

    Anonymous: `system:unauthenticated`. A service account `system:serviceaccount:NS:NAME`:
    `system:serviceaccounts`, `system:serviceaccounts:NS`, then `system:authenticated` (added
    last, as its AuthenticatedGroupAdder does). Anyone else, `unknown` included:
    `system:authenticated`.
    """
    if user == ANONYMOUS:
        return [UNAUTHENTICATED]
    if user.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
        if namespace and name and ":" not in name:
            return [SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED]
    return [AUTHENTICATED]
