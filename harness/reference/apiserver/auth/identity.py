"""Who is calling: users and their groups, the bearer tokens that name them, request attributes.

A token from `--tokens` (or minted by TokenRequest) is its user; a request without a bearer
token is `system:anonymous`; any other token is refused with 401 (`authentication.py`). The
identity travels with each request (into the request log, the access rules of
`authorization.py`, impersonation and SelfSubjectReview).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ANONYMOUS = "system:anonymous"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS = "system:serviceaccounts"
# What a service-account user name's namespace and name must be (DNS-1123 label, subdomain).
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class TokenFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class UserInfo:
    """kube-apiserver's user.Info: name, groups, uid and extra, as authenticated (or
    impersonated)."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        """Whether RBAC's `system:authenticated` bindings apply (everything the embedded server
        allows); anonymous callers get only the public health and version paths."""
        return AUTHENTICATED in self.groups


ANONYMOUS_USER = UserInfo(ANONYMOUS, (UNAUTHENTICATED,))


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
    """Bearer tokens and the users they authenticate."""

    def __init__(self, users_by_token: Mapping[str, UserInfo | str] | None = None) -> None:
        self._users: dict[str, UserInfo] = {
            token: user if isinstance(user, UserInfo) else token_user(user)
            for token, user in (users_by_token or {}).items()
        }

    @classmethod
    def load(cls, path: Path) -> Tokens:
        """`{"tokens": [{"token", "user", "groups"?, "uid"?}]}`, as a static token file's
        columns (without `uid` the user has none)."""
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            raise TokenFileError(f"cannot read token file {path}: {error.strerror}") from None
        except ValueError as error:
            raise TokenFileError(f"token file {path} is not valid JSON: {error}") from None
        entries = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TokenFileError(f'token file {path} must hold {{"tokens": [...]}}')
        users: dict[str, UserInfo | str] = {}
        for index, item in enumerate(entries):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("token"), str)
                or not item["token"]
                or not isinstance(item.get("user"), str)
            ):
                raise TokenFileError(
                    f"token file {path}: entry {index} needs string fields 'token' and 'user'"
                )
            groups = item.get("groups")
            if groups is not None and (
                not isinstance(groups, list) or not all(isinstance(g, str) for g in groups)
            ):
                raise TokenFileError(
                    f"token file {path}: entry {index}: 'groups' must be a list of strings"
                )
            uid = item.get("uid", "")
            if not isinstance(uid, str):
                raise TokenFileError(f"token file {path}: entry {index}: 'uid' must be a string")
            users[item["token"]] = token_user(item["user"], groups, uid)
        return cls(users)

    def add(self, token: str, user: str) -> None:
        """A token minted at run time (TokenRequest)."""
        self._users[token] = token_user(user)

    def lookup(self, token: str) -> UserInfo | None:
        """The user a token authenticates, or None for a token nobody issued."""
        return self._users.get(token)


def token_user(name: str, groups: Iterable[str] | None = None, uid: str = "") -> UserInfo:
    """The user a token authenticates: its listed groups then `system:authenticated`, as a
    static token file gives them; without a list, the groups `groups_for(name)` derives."""
    if groups is None:
        return UserInfo(name, tuple(groups_for(name)), uid)
    listed = [group for group in groups if group != AUTHENTICATED]
    return UserInfo(name, (*listed, AUTHENTICATED), uid)


def service_account_name(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a `system:serviceaccount:NS:NAME` user (serviceaccount.SplitUsername),
    else None."""
    if not user.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = user[len(SERVICE_ACCOUNT_PREFIX) :].split(":")
    if len(parts) != 2:
        return None
    namespace, name = parts
    if len(namespace) > 63 or not _LABEL.match(namespace):
        return None
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        return None
    return namespace, name


def groups_for(user: str) -> list[str]:
    """The groups kube-apiserver's authenticators give `user`, in their order.

    Anonymous: `system:unauthenticated`. A service account `system:serviceaccount:NS:NAME`:
    `system:serviceaccounts`, `system:serviceaccounts:NS`, then `system:authenticated` (added
    last, as its AuthenticatedGroupAdder does). Anyone else: `system:authenticated`.
    """
    if user == ANONYMOUS:
        return [UNAUTHENTICATED]
    account = service_account_name(user)
    if account is not None:
        return [SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{account[0]}", AUTHENTICATED]
    return [AUTHENTICATED]
