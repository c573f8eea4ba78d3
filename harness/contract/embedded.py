"""What the embedded API server serves beyond Kubernetes itself, named once for both sides.

The reference API server (`harness/reference/apiserver`) registers these resources as built-ins;
the harness creates them through the official client like any other object, for example

    body = deny_rule("refuse-vmi-delete", "delete", "kubevirt.io", "virtualmachineinstances",
                     namespaces="tenant-harness", except_users=my_username)
    CustomObjectsApi(client).create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, body)

An `AccessRule` is cluster-scoped. The server refuses every request that one matches (HTTP 403,
the Status kube-apiserver's RBAC gives) until the rule is deleted; requests on `accessrules`
themselves are never refused. The matching rules are in the API server's README.
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

# Effects a rule can have. Only Deny exists today; fault injection may add others (for example
# Fail with an HTTP code, Delay, Reset), each with its own optional spec fields.
DENY = "Deny"
EFFECTS = (DENY,)

WILDCARD = "*"
CORE_GROUP = ""
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

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
) -> dict[str, Any]:
    """An AccessRule body; a single string stands for a one-element list.

    Empty `namespaces` or `names` are left out of the spec (they mean "every").
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
