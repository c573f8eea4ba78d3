"""`--fault apiserver:…` specs as a request gate (grammar: harness/contract/fault_specs.py).

Each spec is one `Effect` with a scope: `verbs`, `resources` (RBAC's matching, so
`computeinstances/status` names the status subresource), `users`, and a `rate` drawn from the
spec's own generator, seeded by `--fault-seed` and the spec's position on the command line. A
spec draws only for requests in its scope, so the faults a sequence of requests meets depend on
nothing but the seed and that sequence. Like AccessRules, specs apply to resource requests only
(never to discovery, `/version`, `/openapi` or health) and never to AccessRules themselves, so a
test can always turn its rules off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.contract.embedded import ACCESS_RULE_PLURAL, DELAY, FAIL, GROUP, RESET, WILDCARD
from harness.contract.fault_specs import DEFAULT_RETRY_AFTER, FaultSpec
from harness.reference.apiserver.auth.access_rules import resource_matches
from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.gates import FAULT, Chance, Effect, Verdict


@dataclass(frozen=True, slots=True)
class Fault:
    """One compiled spec; `None` scopes mean "any"."""

    action: Effect
    chance: Chance
    verbs: frozenset[str] | None
    resources: frozenset[str] | None
    users: frozenset[str] | None

    def applies(self, request: Attributes) -> bool:
        if self.verbs is not None and request.verb not in self.verbs:
            return False
        if self.users is not None and request.user not in self.users:
            return False
        return self.resources is None or resource_matches(self.resources, request)


def compile_fault(spec: FaultSpec, seed: int, position: int) -> Fault:
    error = spec.settings.get("error")
    if error is None:
        action = Effect(DELAY, FAULT, spec.text, latency=spec.seconds("latency"))
    elif error == "reset":
        action = Effect(RESET, FAULT, spec.text)
    else:
        retry_after = int(spec.settings.get("retry-after", DEFAULT_RETRY_AFTER))
        action = Effect(
            FAIL,
            FAULT,
            spec.text,
            code=int(error),
            retry_after=retry_after if error == "429" else None,
        )
    return Fault(
        action=action,
        chance=Chance(spec.rate, f"{seed}/apiserver/{position}/{spec.text}"),
        verbs=_scope(spec.values("verbs")),
        resources=_scope(spec.values("resources")),
        users=_scope(spec.values("users")),
    )


def _scope(values: tuple[str, ...]) -> frozenset[str] | None:
    return None if not values or WILDCARD in values else frozenset(values)


class FaultInjector:
    """The `Gate` of the `--fault` specs; inactive (and free) without any."""

    def __init__(self, specs: Sequence[FaultSpec] = (), seed: int = 0) -> None:
        self.faults = tuple(compile_fault(spec, seed, index) for index, spec in enumerate(specs))
        self.active = bool(self.faults)

    def judge(self, request: Attributes, verdict: Verdict) -> None:
        if request.resource == ACCESS_RULE_PLURAL and request.group == GROUP:
            return
        for fault in self.faults:
            if fault.applies(request) and fault.chance.fires():
                verdict.add(fault.action)
