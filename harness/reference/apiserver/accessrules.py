"""The AccessRule resource: schema, spec validation, and the compiled rule that matches requests.

A rule matches a request (its RBAC attributes, `identity.Attributes`) when every field does:

- `users` holds the user or `*`, and `exceptUsers` does not hold it;
- `verbs` holds the verb or `*`; `apiGroups` the group (`""` core) or `*`;
- `resources` holds `*`, the resource (`virtualmachineinstances`, which does not cover its
  subresources), `resource/subresource` (`virtualmachines/status`) or `*/subresource`, exactly
  as RBAC's `ResourceMatches`;
- `namespaces` is empty or holds the request's namespace attribute (never the case for a
  cluster-scoped or all-namespaces request, whose namespace is empty);
- `names` is empty or holds the request's name attribute (never the case for create or
  deletecollection, or list/watch without a `metadata.name` field selector: RBAC
  `resourceNames` semantics).

Only the `Deny` effect exists; another effect adds its enum value, its spec fields and checks
here, and its enforcement in `authorization.refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.contract.embedded import (
    ACCESS_RULE_PLURAL,
    EFFECTS,
    GROUP,
    VERBS,
    WILDCARD,
)
from harness.reference.apiserver.errors import Cause, field_invalid, field_required
from harness.reference.apiserver.identity import Attributes

RESOURCE_ID = f"{ACCESS_RULE_PLURAL}.{GROUP}"

_STRINGS = {"type": "array", "items": {"type": "string"}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "effect": {"type": "string", "enum": list(EFFECTS)},
                "verbs": {
                    "type": "array",
                    "items": {"type": "string", "enum": [*VERBS, WILDCARD]},
                },
                "apiGroups": _STRINGS,
                "resources": _STRINGS,
                "namespaces": _STRINGS,
                "names": _STRINGS,
                "users": _STRINGS,
                "exceptUsers": _STRINGS,
            },
        },
    },
}

# Lists that must hold at least one entry, with RBAC's wording where RBAC has the same rule.
_REQUIRED = (
    ("verbs", "verbs must contain at least one value"),
    ("apiGroups", "resource rules must supply at least one api group"),
    ("resources", "resource rules must supply at least one resource"),
    ("users", 'users must contain at least one value ("*" for everyone)'),
)
# Lists whose entries must be non-empty strings ("" in apiGroups is the core group).
_NON_EMPTY_ENTRIES = ("resources", "namespaces", "names", "users", "exceptUsers")
# Lists without wildcards, and what to write instead.
_NO_WILDCARD = {
    "namespaces": "leave namespaces empty for every namespace",
    "names": "leave names empty for every name",
    "exceptUsers": "list user names",
}


def validate(obj: dict[str, Any]) -> list[Cause]:
    """Semantic checks after the structural schema (which has checked types and enums)."""
    spec = obj.get("spec")
    if spec is None:
        return [field_required("spec")]
    if not isinstance(spec, dict):
        return []
    causes: list[Cause] = []
    if spec.get("effect") is None:
        supported = ", ".join(f'"{effect}"' for effect in EFFECTS)
        causes.append(field_required("spec.effect", f"supported values: {supported}"))
    for field, detail in _REQUIRED:
        if spec.get(field) in (None, []):
            causes.append(field_required(f"spec.{field}", detail))
    for field in _NON_EMPTY_ENTRIES:
        values = spec.get(field)
        if not isinstance(values, list):
            continue
        for index, value in enumerate(values):
            path = f"spec.{field}[{index}]"
            if value == "":
                causes.append(field_required(path, "must not be empty"))
            elif value == WILDCARD and field in _NO_WILDCARD:
                detail = f"wildcards are not supported: {_NO_WILDCARD[field]}"
                causes.append(field_invalid(path, value, detail))
    return causes


@dataclass(frozen=True, slots=True)
class Rule:
    """One stored AccessRule, compiled for matching; `None` sets mean "any"."""

    name: str
    effect: str
    users: frozenset[str] | None
    except_users: frozenset[str]
    verbs: frozenset[str] | None
    api_groups: frozenset[str] | None
    resources: frozenset[str] | None
    namespaces: frozenset[str] | None
    names: frozenset[str] | None

    def applies(self, request: Attributes) -> bool:
        if self.users is not None and request.user not in self.users:
            return False
        if request.user in self.except_users:
            return False
        if self.verbs is not None and request.verb not in self.verbs:
            return False
        if self.api_groups is not None and request.group not in self.api_groups:
            return False
        if self.resources is not None and not self._resource_matches(request):
            return False
        if self.namespaces is not None and request.namespace not in self.namespaces:
            return False
        return self.names is None or request.name in self.names

    def _resource_matches(self, request: Attributes) -> bool:
        resources = self.resources
        assert resources is not None
        subresource = request.subresource
        if not subresource:
            return request.resource in resources
        return f"{request.resource}/{subresource}" in resources or f"*/{subresource}" in resources


def compile_rule(obj: dict[str, Any]) -> Rule:
    """A validated AccessRule object as a `Rule`."""
    spec = obj["spec"]
    return Rule(
        name=obj["metadata"]["name"],
        effect=spec["effect"],
        users=_any_or(spec.get("users")),
        except_users=frozenset(spec.get("exceptUsers") or ()),
        verbs=_any_or(spec.get("verbs")),
        api_groups=_any_or(spec.get("apiGroups")),
        resources=_any_or(spec.get("resources")),
        namespaces=_every_or(spec.get("namespaces")),
        names=_every_or(spec.get("names")),
    )


def _any_or(values: list[str] | None) -> frozenset[str] | None:
    """`*` anywhere in the list matches anything."""
    values = values or []
    return None if WILDCARD in values else frozenset(values)


def _every_or(values: list[str] | None) -> frozenset[str] | None:
    """An empty or absent list matches anything."""
    return frozenset(values) if values else None
