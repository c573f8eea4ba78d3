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

Effects: `Deny` (403); the fault effects `Fail` (`code` 429/500/503, `retryAfterSeconds`),
`Delay` (`latency` such as "200ms") and `Reset`, each at `rate` (0..1, default 1) drawn from a
generator seeded by the server's `--fault-seed` and the rule's name (it starts over when the
rule changes). What they do to a request is in `gates.py`; another effect adds its enum value,
its spec fields and checks here, and its enforcement there and in `http_front.HttpFront`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from harness.contract.embedded import (
    ACCESS_RULE_PLURAL,
    DELAY,
    DENY,
    EFFECTS,
    FAIL,
    FAIL_CODES,
    FAULT_EFFECTS,
    GROUP,
    IMPERSONATE,
    VERBS,
    WILDCARD,
)
from harness.contract.fault_specs import FaultSpecError, parse_seconds
from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.gates import ACCESS_RULE, Chance, Effect
from harness.reference.apiserver.status_errors import (
    Cause,
    field_forbidden,
    field_invalid,
    field_not_supported,
    field_required,
)

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
                    "items": {"type": "string", "enum": [*VERBS, IMPERSONATE, WILDCARD]},
                },
                "apiGroups": _STRINGS,
                "resources": _STRINGS,
                "namespaces": _STRINGS,
                "names": _STRINGS,
                "users": _STRINGS,
                "exceptUsers": _STRINGS,
                "code": {"type": "integer"},
                "retryAfterSeconds": {"type": "integer", "minimum": 0},
                "latency": {"type": "string"},
                "rate": {"type": "number", "minimum": 0, "maximum": 1},
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
    causes.extend(_fault_causes(spec))
    return causes


# Fault fields and the effects they belong to.
_FAULT_FIELDS = {
    "code": (FAIL,),
    "retryAfterSeconds": (FAIL,),
    "latency": (DELAY,),
    "rate": FAULT_EFFECTS,
}


def _fault_causes(spec: dict[str, Any]) -> list[Cause]:
    effect = spec.get("effect")
    causes: list[Cause] = []
    for name, effects in _FAULT_FIELDS.items():
        if spec.get(name) is not None and effect not in effects:
            detail = f"only with effect {' or '.join(effects)}"
            causes.append(field_forbidden(f"spec.{name}", detail))
    if effect == FAIL:
        code = spec.get("code")
        if code is None:
            supported = ", ".join(str(c) for c in FAIL_CODES)
            causes.append(field_required("spec.code", f"supported values: {supported}"))
        elif code not in FAIL_CODES:
            causes.append(field_not_supported("spec.code", code, list(FAIL_CODES)))
    if effect == DELAY:
        latency = spec.get("latency")
        if latency is None:
            causes.append(field_required("spec.latency", 'a duration such as "200ms" or "5s"'))
        elif isinstance(latency, str):
            try:
                parse_seconds(latency, latency)
            except FaultSpecError:
                detail = 'must be a duration such as "200ms" or "5s"'
                causes.append(field_invalid("spec.latency", latency, detail))
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
    action: Effect
    chance: Chance | None = None

    def applies(self, request: Attributes) -> bool:
        if self.users is not None and request.user not in self.users:
            return False
        if request.user in self.except_users:
            return False
        if self.verbs is not None and request.verb not in self.verbs:
            return False
        if self.api_groups is not None and request.group not in self.api_groups:
            return False
        if self.resources is not None and not resource_matches(self.resources, request):
            return False
        if self.namespaces is not None and request.namespace not in self.namespaces:
            return False
        return self.names is None or request.name in self.names

    def fires(self) -> bool:
        """Whether a matching request gets the effect this time (its `rate`)."""
        return self.chance is None or self.chance.fires()


def resource_matches(resources: Collection[str], request: Attributes) -> bool:
    """RBAC's ResourceMatches, `*` excluded (callers treat it as "any")."""
    subresource = request.subresource
    if not subresource:
        return request.resource in resources
    return f"{request.resource}/{subresource}" in resources or f"*/{subresource}" in resources


def compile_rule(obj: dict[str, Any], seed: int = 0) -> Rule:
    """A validated AccessRule object as a `Rule`; `seed` seeds the draws of its `rate`."""
    spec = obj["spec"]
    name = obj["metadata"]["name"]
    effect = spec["effect"]
    rate = spec.get("rate")
    return Rule(
        name=name,
        effect=effect,
        action=Effect(
            effect,
            ACCESS_RULE,
            name,
            code=int(spec.get("code") or 0),
            retry_after=spec.get("retryAfterSeconds"),
            latency=parse_seconds(spec["latency"], name) if effect == DELAY else 0.0,
        ),
        chance=None
        if effect == DENY or rate is None
        else Chance(float(rate), f"{seed}/accessrule/{name}"),
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
