"""Watch-based waiting with explanations.

A wait blocks on the test's Timeline (fed by watches), never on a timer. When it gives up it
says what it waited for, for how long, and the last state it saw of every object involved —
so a red test reads "waited 60 s for a new VMI Running; last seen: VMI uid 1a2b… phase
Scheduling at +57.1 s", not "TimeoutError".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness.recording import Observation, Timeline

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The system under test did not reach the awaited state in time (a test failure)."""


def wait_until(
    timeline: Timeline,
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    last_seen: Callable[[], str],
) -> T:
    __tracebackhide__ = True
    result = timeline.wait(check, timeout)
    if not result:
        raise WaitTimeout(f"waited {timeout:.0f} s for {what}; last seen: {last_seen()}")
    return result


def condition(obj: dict[str, Any] | None, type_name: str) -> dict[str, Any] | None:
    if not obj:
        return None
    for item in obj.get("status", {}).get("conditions", []) or []:
        if item.get("type") == type_name:
            return dict(item)
    return None


def describe_instance(observation: Observation | None) -> str:
    if observation is None:
        return "no ComputeInstance seen"
    obj = observation.object
    status = obj.get("status", {}) or {}
    conditions = (
        ", ".join(
            f"{c.get('type')}={c.get('status')}"
            + (f"/{c.get('reason')}" if c.get("reason") else "")
            for c in status.get("conditions", []) or []
        )
        or "none"
    )
    reference = status.get("virtualMachineReference") or {}
    parts = [
        f"ComputeInstance {observation.name} ({observation.event.lower()} at "
        f"+{observation.elapsed:.1f} s, rv {observation.resource_version})",
        f"phase {status.get('phase') or '<none>'}",
        f"conditions {conditions}",
        f"lastRestartedAt {status.get('lastRestartedAt') or '<none>'}",
        f"restartRequestedAt {obj.get('spec', {}).get('restartRequestedAt') or '<none>'}",
        f"virtualMachineReference {reference.get('namespace', '')}/"
        f"{reference.get('kubeVirtVirtualMachineName', '')}"
        if reference
        else "no virtualMachineReference",
        f"finalizers {obj.get('metadata', {}).get('finalizers') or []}",
    ]
    if observation.event == "DELETED":
        parts.append("deleted")
    return "; ".join(parts)


def describe_vmi(observation: Observation | None) -> str:
    if observation is None:
        return "no VMI seen"
    obj = observation.object
    metadata = obj.get("metadata", {})
    deleting = " (deleting)" if metadata.get("deletionTimestamp") else ""
    if observation.event == "DELETED":
        deleting = " (deleted)"
    return (
        f"VMI {observation.name} uid {observation.uid[:8]}… phase "
        f"{(obj.get('status') or {}).get('phase') or '<none>'}{deleting}, created "
        f"{metadata.get('creationTimestamp')}, seen at +{observation.elapsed:.1f} s"
    )
