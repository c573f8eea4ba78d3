"""Who is calling: bearer tokens to user names, and the authorization hook.

Every token is accepted for now. The identity travels with each request (and into the request
log) so that a later policy can deny verbs per user by replacing `AllowAll`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ANONYMOUS = "system:anonymous"
UNKNOWN = "unknown"


class TokenFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a request wants to do, in RBAC terms."""

    user: str
    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str


class Authorizer(Protocol):
    def allowed(self, attributes: Attributes) -> bool: ...


class AllowAll:
    def allowed(self, attributes: Attributes) -> bool:
        return True


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

    def user_for(self, authorization: str | None) -> str:
        """The user behind an Authorization header; never returns or logs the token itself."""
        if not authorization:
            return ANONYMOUS
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return UNKNOWN
        return self._users.get(credential.strip(), UNKNOWN)
