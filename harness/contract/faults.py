"""Fault specifications for the embedded stack: `--fault COMPONENT:KEY=VALUE,KEY=VALUE`.

Parsed the same way by `python -m harness up` (to refuse a bad spec with one line before
anything starts) and by the component that applies it. Examples:

    apiserver:error=503,rate=0.05                      5 % of requests answer HTTP 503
    apiserver:error=reset,rate=0.05,verbs=get|list     reset the connection of 5 % of reads
    apiserver:latency=200ms                            every request waits 200 ms first
    kubevirt:boot-delay=5s                             VMIs take 5 s to boot
    kubevirt:never-recreate                            a deleted VMI is never replaced
    kubevirt:hang-deletion                             a deleted VMI never finishes shutting down
    fulfillment:error=UNAVAILABLE,rate=0.05            5 % of gRPC calls fail UNAVAILABLE

Keys common to every component: `rate` (0..1, default 1), `users` / `verbs` / `resources` /
`methods` (`|`-separated filters, component specific). Randomness comes from one seed
(`--fault-seed`), so a run with faults is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COMPONENTS = ("apiserver", "kubevirt", "fulfillment")


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

    def values(self, key: str) -> tuple[str, ...]:
        raw = self.settings.get(key, "")
        return tuple(part for part in raw.split("|") if part)


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
    if value < 0:
        raise FaultSpecError(f"fault {spec!r}: a duration cannot be negative")
    return value


def parse_fault(text: str) -> FaultSpec:
    """Split `component:key=value,flag` into a FaultSpec; the component applies the meaning."""
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
        if not key:
            raise FaultSpecError(f"fault {text!r}: empty setting")
        settings[key.strip()] = value.strip()
    if not settings:
        raise FaultSpecError(f"fault {text!r}: no settings after {component}:")
    spec = FaultSpec(component, settings, text)
    spec.rate  # noqa: B018 - validates `rate` early
    return spec
