"""Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` (`kubectl --as`,
`--as-group`, `--as-uid`), as kube-apiserver 1.37 handles them.

kube-apiserver 1.37 runs constrained impersonation (beta, on by default). For each request it
tries modes in order: a node, a service account or any other user ("user-info"), each first
asking `impersonate-on:<mode>:<verb>` on the request itself, then `impersonate:<mode>` on the
wanted user; and last the legacy mode, `impersonate` on `users`, `serviceaccounts` or `groups`
(API group ""), `uids` and `userextras/<key>` (authentication.k8s.io). The first mode that
allows the whole identity wins and is remembered per requestor (tried first next time); when
all fail, the answer is the 403 of the first mode tried.

The embedded server grants the legacy `impersonate` to every authenticated caller unless a
`Deny` AccessRule matches the check (verb `impersonate`; the anonymous caller is never allowed),
and never grants the constrained verbs: like a real cluster whose RBAC grants `impersonate` only,
every impersonation goes through the legacy mode, and a refused one reads exactly as there. The
impersonated user gets the groups asked for (a service account without any: its own), plus
`system:authenticated` (`system:unauthenticated` for `system:anonymous`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness.reference.apiserver.auth.authorization import forbidden, path_forbidden
from harness.reference.apiserver.auth.identity import (
    ANONYMOUS,
    AUTHENTICATED,
    SERVICE_ACCOUNTS,
    UNAUTHENTICATED,
    Attributes,
    UserInfo,
    service_account_name,
)
from harness.reference.apiserver.request_info import RequestInfo
from harness.reference.apiserver.status_errors import ApiError, bad_request

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "impersonate-extra-"
VERB = "impersonate"
AUTHENTICATION_GROUP = "authentication.k8s.io"
# How many requestors' successful mode is remembered (kube-apiserver's LRU size).
REMEMBERED = 10_000
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Allowed = Callable[[Attributes], bool]


@dataclass(frozen=True, slots=True)
class Wanted:
    """The identity the headers ask for."""

    name: str
    uid: str
    groups: tuple[str, ...]
    extra: Mapping[str, tuple[str, ...]]

    def only_name(self) -> bool:
        return not self.uid and not self.groups and not self.extra


class Impersonation:
    """Applies the headers of one request; remembers who impersonated successfully."""

    def __init__(self) -> None:
        self._succeeded: OrderedDict[str, None] = OrderedDict()

    def apply(
        self,
        requestor: UserInfo,
        headers: Mapping[str, str],
        info: RequestInfo,
        allowed: Allowed,
    ) -> UserInfo:
        """The user the request runs as: `requestor`, or whom the headers name (400, 403)."""
        if not any(name[:12].lower() == "impersonate-" for name in headers):
            return requestor
        wanted = wanted_user(headers)
        if wanted is None:
            return requestor
        legacy_error = _legacy_check(requestor, wanted, allowed)
        if legacy_error is None:
            self._remember(requestor.name)
            return _impersonated(wanted)
        if requestor.name in self._succeeded:
            raise legacy_error  # the remembered mode was tried first
        constrained = _constrained_modes(wanted)
        if constrained:
            raise _impersonate_on(constrained[0], requestor.name, info)
        raise legacy_error

    def _remember(self, requestor: str) -> None:
        self._succeeded[requestor] = None
        self._succeeded.move_to_end(requestor)
        if len(self._succeeded) > REMEMBERED:
            self._succeeded.popitem(last=False)


def wanted_user(headers: Mapping[str, str]) -> Wanted | None:
    """The identity asked for, None without impersonation headers; 400 without a user name."""
    getall = getattr(headers, "getall", None)

    def values(name: str) -> list[str]:
        if getall is not None:
            return list(getall(name, []))
        value = headers.get(name)
        return [] if value is None else [value]

    users = values(USER_HEADER)
    name = users[0] if users else ""
    uids = values(UID_HEADER)
    uid = uids[0] if uids else ""
    groups = tuple(values(GROUP_HEADER))
    extra: dict[str, list[str]] = {}
    for header in {key.lower() for key in headers if key.lower().startswith(EXTRA_PREFIX)}:
        key = urllib.parse.unquote(header[len(EXTRA_PREFIX) :])
        extra.setdefault(key, []).extend(values(header))
    wanted = Wanted(name, uid, groups, {key: tuple(v) for key, v in extra.items()})
    if not name:
        if uid or groups or extra:
            raise bad_request(f"requested {_go_user(wanted)} without impersonating a user name")
        return None
    return wanted


def _legacy_check(requestor: UserInfo, wanted: Wanted, allowed: Allowed) -> ApiError | None:
    """The legacy mode's checks in their order; the first refusal, or None."""
    checks: list[Attributes] = []
    account = service_account_name(wanted.name)
    if account is not None:
        checks.append(_check(requestor, "", "serviceaccounts", account[1], namespace=account[0]))
    else:
        checks.append(_check(requestor, "", "users", wanted.name))
    if wanted.uid:
        checks.append(_check(requestor, AUTHENTICATION_GROUP, "uids", wanted.uid))
    checks.extend(_check(requestor, "", "groups", group) for group in wanted.groups)
    for key in sorted(wanted.extra):
        checks.extend(
            _check(requestor, AUTHENTICATION_GROUP, "userextras", value, subresource=key)
            for value in wanted.extra[key]
        )
    for attributes in checks:
        if not (requestor.authenticated and allowed(attributes)):
            return forbidden(attributes)
    return None


def _check(
    requestor: UserInfo,
    group: str,
    resource: str,
    name: str,
    namespace: str = "",
    subresource: str = "",
) -> Attributes:
    return Attributes(
        user=requestor.name,
        verb=VERB,
        group=group,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )


def _constrained_modes(wanted: Wanted) -> list[str]:
    """The constrained modes that would consider `wanted`, in kube-apiserver's order (the
    associated-node mode needs a node-bound service-account token, which this server never
    issues)."""
    node = wanted.name.startswith("system:node:") and _valid_node(wanted.name[12:])
    account = service_account_name(wanted.name) is not None
    modes = []
    if node and wanted.only_name():
        modes.append("arbitrary-node")
    if account and wanted.only_name():
        modes.append("serviceaccount")
    if not node and not account:
        modes.append("user-info")
    return modes


def _valid_node(name: str) -> bool:
    return 0 < len(name) <= 253 and bool(_NODE_NAME.match(name))


def _impersonate_on(mode: str, requestor: str, info: RequestInfo) -> ApiError:
    """The refusal of `impersonate-on:<mode>:<verb>` on the request itself."""
    verb = f"impersonate-on:{mode}:{info.verb}"
    if not info.resource_request:
        return path_forbidden(requestor, verb, info.path)
    return forbidden(info.attributes(requestor, verb))


def _impersonated(wanted: Wanted) -> UserInfo:
    groups = list(wanted.groups)
    account = service_account_name(wanted.name)
    if account is not None and not groups:
        groups = [SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{account[0]}"]
    if wanted.name == ANONYMOUS:
        _ensure(groups, UNAUTHENTICATED)
    elif UNAUTHENTICATED not in groups:
        _ensure(groups, AUTHENTICATED)
    return UserInfo(wanted.name, tuple(groups), wanted.uid, dict(wanted.extra))


def _ensure(groups: list[str], group: str) -> None:
    if group not in groups:
        groups.append(group)


def _go_user(wanted: Wanted) -> str:
    """`%#v` of the user.DefaultInfo the headers describe, as the 400 quotes it."""
    groups = _go_strings(wanted.groups)
    if wanted.extra:
        entries = ", ".join(
            f"{_go_string(key)}:{_go_strings(wanted.extra[key])}" for key in sorted(wanted.extra)
        )
        extra = f"map[string][]string{{{entries}}}"
    else:
        extra = "map[string][]string(nil)"
    return (
        f"&user.DefaultInfo{{Name:{_go_string(wanted.name)}, UID:{_go_string(wanted.uid)}, "
        f"Groups:{groups}, Extra:{extra}}}"
    )


def _go_strings(values: Sequence[str]) -> str:
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_go_string(value) for value in values) + "}"


def _go_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
