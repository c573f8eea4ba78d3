"""What the embedded API server serves beyond Kubernetes itself, named once for both sides.

The reference API server (`harness/reference/apiserver`) registers these resources as built-ins;
the harness creates them through the official client like any other object, for example

    body = deny_rule("refuse-vmi-delete", "delete", "kubevirt.io", "virtualmachineinstances",
                     namespaces="tenant-harness", except_users=my_username)
    CustomObjectsApi(client).create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, body)

An `AccessRule` is cluster-scoped. A `Deny` rule refuses every request it matches (HTTP 403,
the Status kube-apiserver's RBAC gives) until the rule is deleted. The fault effects turn the
stack's `--fault apiserver:…` faults on and off at run time: `Fail` answers HTTP `code` (429, 500
or 503, a Kubernetes Status; 429 with `Retry-After`), `Reset` closes the connection without an
answer, `Delay` waits `latency` first; each at an optional `rate` (0..1). On a watch, `Fail` and
`Reset` drop the stream after its first batch of events. Requests on `accessrules` themselves
are never touched. The matching rules are in the API server's README, e.g.

    access_rule("flaky-vmi-reads", effect=FAIL, code=503, rate=0.5, verbs=["get", "list"],
                api_groups="kubevirt.io", resources="virtualmachineinstances")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

GROUP = "harness.osac.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

ACCESS_RULE_KIND = "AccessRule"
ACCESS_RULE_LIST_KIND = "AccessRuleList"
ACCESS_RULE_PLURAL = "accessrules"
ACCESS_RULE_SINGULAR = "accessrule"

# Effects a rule can have. Deny: HTTP 403. Fail (spec.code, spec.retryAfterSeconds), Delay
# (spec.latency), Reset: injected faults, each at spec.rate (0..1, default 1).
DENY = "Deny"
FAIL = "Fail"
DELAY = "Delay"
RESET = "Reset"
EFFECTS = (DENY, FAIL, DELAY, RESET)
FAULT_EFFECTS = (FAIL, DELAY, RESET)
FAIL_CODES = (429, 500, 503)

WILDCARD = "*"
CORE_GROUP = ""
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
# The verb of impersonation checks (`kubectl --as`), on users, groups and serviceaccounts
# (core group) or uids and userextras (authentication.k8s.io); for AccessRules only.
IMPERSONATE = "impersonate"

Strings = str | Iterable[str]


def access_rule(
    name: str,
    *,
    effect: str,
    verbs: Strings,
    api_groups: Strings,
    resources: Strings,
    namespaces: Strings = (),
    names: Strings = (),
    users: Strings = (WILDCARD,),
    except_users: Strings = (),
    labels: Mapping[str, str] | None = None,
    code: int | None = None,
    retry_after_seconds: int | None = None,
    latency: str | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """An AccessRule body; a single string stands for a one-element list.

    Empty `namespaces` or `names` are left out of the spec (they mean "every"); so are the
    fault fields left at None (`code` for Fail, `latency` such as "200ms" for Delay, `rate`).
    """
    spec: dict[str, Any] = {
        "effect": effect,
        "verbs": _strings(verbs),
        "apiGroups": _strings(api_groups),
        "resources": _strings(resources),
        "users": _strings(users),
    }
    for key, value in (
        ("namespaces", namespaces),
        ("names", names),
        ("exceptUsers", except_users),
    ):
        listed = _strings(value)
        if listed:
            spec[key] = listed
    for key, setting in (
        ("code", code),
        ("retryAfterSeconds", retry_after_seconds),
        ("latency", latency),
        ("rate", rate),
    ):
        if setting is not None:
            spec[key] = setting
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": API_VERSION, "kind": ACCESS_RULE_KIND, "metadata": metadata, "spec": spec}


def deny_rule(
    name: str,
    verbs: Strings,
    api_group: Strings,
    resource: Strings,
    namespaces: Strings = (),
    names: Strings = (),
    users: Strings = (WILDCARD,),
    except_users: Strings = (),
) -> dict[str, Any]:
    """An AccessRule that refuses `verbs` on `resource` in `api_group` ("" is the core group)."""
    return access_rule(
        name,
        effect=DENY,
        verbs=verbs,
        api_groups=api_group,
        resources=resource,
        namespaces=namespaces,
        names=names,
        users=users,
        except_users=except_users,
    )


def _strings(value: Strings) -> list[str]:
    if isinstance(value, str):
        return [value]
    return list(value)
