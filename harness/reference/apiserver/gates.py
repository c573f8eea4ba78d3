"""What the request gates (AccessRules, `--fault` specs) do to a resource request.

A gate judges a request's RBAC attributes into a `Verdict`: latency to add before serving it,
and at most one final effect — `Deny` (403), `Fail` (429/500/503 with a Kubernetes Status) or
`Reset` (the connection is closed without an answer). Every active gate judges every request,
in order (the `--fault` specs, then the AccessRules), so each one's random draws do not depend
on the others; latencies add up and the first final effect answers the request. On a watch,
`Fail` and `Reset` do not answer at once: they drop the stream after its first batch of events
(`http_front.HttpFront._watch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from harness.contract.embedded import DELAY, DENY, FAIL, RESET
from harness.contract.fault_specs import Chance
from harness.reference.apiserver.auth.identity import Attributes
from harness.reference.apiserver.status_errors import ApiError

__all__ = [
    "ACCESS_RULE",
    "DELAY",
    "DENY",
    "FAIL",
    "FAULT",
    "RESET",
    "Chance",
    "Effect",
    "Gate",
    "Verdict",
    "failure",
]


FAULT = "fault"  # origin of an effect: a `--fault` spec (its name is the spec) ...
ACCESS_RULE = "accessRule"  # ... or an AccessRule (its name); also the request-log keys


@dataclass(frozen=True, slots=True)
class Effect:
    kind: str  # DENY, FAIL, RESET or DELAY
    origin: str  # FAULT or ACCESS_RULE
    name: str  # the spec's text or the rule's name
    code: int = 0
    retry_after: int | None = None
    latency: float = 0.0

    @property
    def source(self) -> str:
        """For messages: "fault SPEC" or "AccessRule NAME"."""
        return f"fault {self.name}" if self.origin == FAULT else f"AccessRule {self.name}"


@dataclass(slots=True)
class Verdict:
    latency: float = 0.0
    final: Effect | None = None
    effects: list[Effect] = field(default_factory=list)

    def add(self, effect: Effect) -> None:
        """Delays add up; the first final effect stays."""
        self.effects.append(effect)
        if effect.kind == DELAY:
            self.latency += effect.latency
        elif self.final is None:
            self.final = effect


class Gate(Protocol):
    """Judges requests; the HTTP layer skips building attributes while `active` is False."""

    active: bool

    def judge(self, request: Attributes, verdict: Verdict) -> None:
        """Add this gate's effects on the request to `verdict`."""
        ...


def failure(effect: Effect, request: Attributes) -> ApiError:
    """The Status kube-apiserver answers with for an injected `Fail`."""
    note = f"(injected by {effect.source})"
    if effect.code == 429:
        # errors.NewTooManyRequests, as the max-in-flight and priority-and-fairness filters say it.
        return ApiError(
            429,
            "TooManyRequests",
            f"Too many requests, please try again later. {note}",
            retry_after=effect.retry_after if effect.retry_after is not None else 1,
        )
    if effect.code == 503:
        # errors.NewServiceUnavailable with the generic server response message.
        return ApiError(
            503,
            "ServiceUnavailable",
            f"the server is currently unable to handle the request {note}",
            retry_after=effect.retry_after,
        )
    # errors.NewInternalError: "Internal error occurred: <err>", the error again as a cause.
    cause = f"injected fault on {request.verb} {request.resource} {note}"
    return ApiError(
        effect.code or 500,
        "InternalError",
        f"Internal error occurred: {cause}",
        cause_messages=[cause],
        retry_after=effect.retry_after,
    )
