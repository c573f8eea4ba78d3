"""Fault specifications for the embedded stack: `--fault COMPONENT:KEY=VALUE,KEY=VALUE,FLAG`.

Parsed and validated here, the same way by `python -m harness up` (which refuses a bad spec with
one line before anything starts) and by the component that applies it. Each spec has exactly
one effect key; the others narrow where it applies. `|` separates alternatives in a value.

    apiserver:error=503,rate=0.05                      5 % of resource requests answer HTTP 503
    apiserver:error=reset,rate=0.05,verbs=get|list     reset the connection of 5 % of reads
    apiserver:error=429,retry-after=2,users=alice      alice is throttled (Retry-After: 2)
    apiserver:latency=200ms                            every resource request waits 200 ms first
    kubevirt:boot-delay=5s                             VMIs take 5 s to boot
    kubevirt:never-recreate,vms=vm-a*                  a deleted VMI of vm-a… is never replaced
    kubevirt:hang-deletion,rate=0.5                    half the deleted VMIs keep their finalizers
    fulfillment:error=UNAVAILABLE,rate=0.05            5 % of gRPC calls fail UNAVAILABLE
    fulfillment:latency=1s,methods=Update              every Update waits 1 s first

Effects (one per spec) and the keys that scope them, per component:

- apiserver: `error=429|500|503|reset` or `latency=DURATION`; scope `rate`, `verbs`,
  `resources`, `users`; `retry-after=SECONDS` with `error=429` (default 1).
- kubevirt: `boot-delay=DURATION`, `never-recreate` or `hang-deletion`; scope `rate`, `vms`
  (VM name globs such as `vm-a*`).
- fulfillment: `error=UNAVAILABLE|DEADLINE_EXCEEDED` or `latency=DURATION`; scope `rate`,
  `methods` (`Get`, `List`, `Create`, `Update`, `Delete`, `Signal`).

What they do (details in `harness/reference/apiserver/fault_injector.py`,
`harness/reference/kubevirt/vm_faults.py` and `harness/reference/fulfillment/fault_interceptor.py`):

- apiserver: resource requests only (never discovery, `/version`, health or AccessRules); codes
  answer a Kubernetes Status (429 with `Retry-After`), `reset` closes the socket with a TCP
  reset and no answer, nothing is done; on a watch an error drops the stream after its first
  batch of events. AccessRule effects `Fail`, `Delay`, `Reset` do the same at run time.
- kubevirt: a selected VMI boots in `boot-delay`; a selected VM gets no VMI again once its VMI
  was deleted; a selected deleted VMI keeps its finalizers for ever. Decided once per object.
- fulfillment: `ComputeInstances` methods only, before authentication; an error runs nothing.

Several specs may act on one request: latencies add up, the first firing error answers.
`rate` is 0..1 (default 1); DURATION is `200ms`, `5s` or plain seconds. `verbs` are Kubernetes
verbs (`get list watch create update patch delete deletecollection`), `resources` plurals as
RBAC writes them (`virtualmachineinstances`, `computeinstances/status`), `users` user names.
Randomness comes from one seed (`--fault-seed`): each spec draws from its own generator derived
from the seed and its position, and only for requests in its scope, so a run is repeatable.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.contract.embedded import VERBS

COMPONENTS = ("apiserver", "kubevirt", "fulfillment")

APISERVER_ERRORS = ("429", "500", "503", "reset")
FULFILLMENT_ERRORS = ("UNAVAILABLE", "DEADLINE_EXCEEDED")
FULFILLMENT_METHODS = ("Get", "List", "Create", "Update", "Delete", "Signal")
DEFAULT_RETRY_AFTER = 1


class FaultSpecError(ValueError):
    """A fault specification that cannot be used; the message is one line."""


@dataclass(frozen=True)
class FaultSpec:
    component: str
    settings: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def rate(self) -> float:
        return parse_rate(self.settings.get("rate", "1"), self.text)

    @property
    def effect(self) -> str:
        """The one effect key of the spec (`error`, `latency`, `never-recreate`, …)."""
        return next(key for key in self.settings if key in _EFFECTS[self.component])

    def values(self, key: str) -> tuple[str, ...]:
        raw = self.settings.get(key, "")
        return tuple(part for part in raw.split("|") if part)

    def seconds(self, key: str) -> float:
        return parse_seconds(self.settings[key], self.text)


class Chance:
    """Fires with probability `rate`, drawing from its own generator seeded with `seed` (any
    string: the run's `--fault-seed` plus what names the spec), and only when 0 < rate < 1, so
    the outcomes depend on nothing but the seed and the sequence of calls. Thread-safe."""

    __slots__ = ("_lock", "_random", "rate")

    def __init__(self, rate: float, seed: str) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def fires(self) -> bool:
        if self.rate >= 1.0:
            return True
        if self.rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < self.rate


def parse_rate(text: str, spec: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise FaultSpecError(
            f"fault {spec!r}: rate must be a number in 0..1, got {text!r}"
        ) from None
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"fault {spec!r}: rate must be in 0..1, got {text!r}")
    return rate


def parse_seconds(text: str, spec: str) -> float:
    """`200ms`, `5s`, `1.5` (seconds)."""
    raw = text.strip()
    scale = 1.0
    if raw.endswith("ms"):
        raw, scale = raw[:-2], 0.001
    elif raw.endswith("s"):
        raw = raw[:-1]
    try:
        value = float(raw) * scale
    except ValueError:
        raise FaultSpecError(
            f"fault {spec!r}: {text!r} is not a duration (e.g. 200ms, 5s)"
        ) from None
    if not math.isfinite(value):
        raise FaultSpecError(f"fault {spec!r}: {text!r} is not a duration (e.g. 200ms, 5s)")
    if value < 0:
        raise FaultSpecError(f"fault {spec!r}: a duration cannot be negative")
    return value


def parse_fault(text: str) -> FaultSpec:
    """Split and validate `component:key=value,flag`; the component applies the meaning."""
    component, sep, rest = text.partition(":")
    component = component.strip()
    if not sep or component not in COMPONENTS:
        raise FaultSpecError(
            f"fault {text!r}: expected COMPONENT:SETTINGS with COMPONENT one of "
            f"{', '.join(COMPONENTS)}"
        )
    settings: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, _, value = item.partition("=")
        key = key.strip()
        if not key:
            raise FaultSpecError(f"fault {text!r}: empty setting")
        if key in settings:
            raise FaultSpecError(f"fault {text!r}: {key} is given twice")
        settings[key] = value.strip()
    if not settings:
        raise FaultSpecError(f"fault {text!r}: no settings after {component}:")
    spec = FaultSpec(component, settings, text)
    _validate(spec)
    return spec


def parse_faults(texts: Iterable[str], component: str) -> tuple[FaultSpec, ...]:
    """The specs addressed to `component`, validated; others are refused."""
    specs = tuple(parse_fault(text) for text in texts)
    for spec in specs:
        if spec.component != component:
            raise FaultSpecError(
                f"fault {spec.text!r}: addressed to {spec.component}, not to {component}"
            )
    return specs


# --- per-component validation ------------------------------------------------------------------

Check = Callable[[str, str, str], None]  # (key, value, spec text) -> None or FaultSpecError


def _one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)

    def check(key: str, value: str, spec: str) -> None:
        if value not in allowed:
            raise FaultSpecError(
                f"fault {spec!r}: {key} must be one of {', '.join(allowed)}, got {value!r}"
            )

    return check


def _each_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)

    def check(key: str, value: str, spec: str) -> None:
        _names(key, value, spec)
        for part in value.split("|"):
            if part not in allowed:
                raise FaultSpecError(
                    f"fault {spec!r}: {key} takes {'|'.join(allowed)}, got {part!r}"
                )

    return check


def _names(key: str, value: str, spec: str) -> None:
    if not value or any(not part.strip() for part in value.split("|")):
        raise FaultSpecError(f"fault {spec!r}: {key} needs names separated by |, got {value!r}")


def _duration(_key: str, value: str, spec: str) -> None:
    parse_seconds(value, spec)


def _rate(_key: str, value: str, spec: str) -> None:
    parse_rate(value, spec)


def _whole_seconds(key: str, value: str, spec: str) -> None:
    if not (value.isascii() and value.isdigit()):
        raise FaultSpecError(f"fault {spec!r}: {key} must be whole seconds, got {value!r}")


def _flag(key: str, value: str, spec: str) -> None:
    if value:
        raise FaultSpecError(f"fault {spec!r}: {key} takes no value, got {key}={value}")


_EFFECTS: dict[str, dict[str, Check]] = {
    "apiserver": {"error": _one_of(APISERVER_ERRORS), "latency": _duration},
    "kubevirt": {"boot-delay": _duration, "never-recreate": _flag, "hang-deletion": _flag},
    "fulfillment": {"error": _one_of(FULFILLMENT_ERRORS), "latency": _duration},
}
_SCOPES: dict[str, dict[str, Check]] = {
    "apiserver": {
        "rate": _rate,
        "verbs": _each_of(VERBS),
        "resources": _names,
        "users": _names,
        "retry-after": _whole_seconds,
    },
    "kubevirt": {"rate": _rate, "vms": _names},
    "fulfillment": {"rate": _rate, "methods": _each_of(FULFILLMENT_METHODS)},
}


def _validate(spec: FaultSpec) -> None:
    effects, scopes = _EFFECTS[spec.component], _SCOPES[spec.component]
    for key, value in spec.settings.items():
        check = effects.get(key) or scopes.get(key)
        if check is None:
            known = ", ".join([*effects, *scopes])
            raise FaultSpecError(
                f"fault {spec.text!r}: unknown setting {key!r} for {spec.component} "
                f"(known: {known})"
            )
        check(key, value, spec.text)
    chosen = [key for key in spec.settings if key in effects]
    if len(chosen) != 1:
        raise FaultSpecError(
            f"fault {spec.text!r}: give exactly one of {', '.join(effects)} "
            f"(got {', '.join(chosen) or 'none'}; use one --fault per effect)"
        )
    if "retry-after" in spec.settings and spec.settings.get("error") != "429":
        raise FaultSpecError(f"fault {spec.text!r}: retry-after applies to error=429 only")
