"""Watch-based waiting with explanations.

A wait blocks on the test's Timeline (fed by watches), never on a timer. When it gives up it
says what it waited for, for how long, and the last state it saw of every object involved —
so a red test reads "waited 60 s for a new VMI Running; last seen: VMI uid 1a2b… phase
Scheduling at +57.1 s", not "TimeoutError".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from harness.testkit.progress import waiting
from harness.testkit.timeline import Observation, Timeline

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
    with waiting(what, timeout):
        result = timeline.wait(check, timeout)
    if not result:
        raise WaitTimeout(f"waited {timeout:.0f} s for {what}; last seen: {last_seen()}")
    return result


def wait_for_server_time(
    server_now: Callable[[], datetime], moment: datetime, limit: float = 300.0
) -> datetime:
    """Block until the API server's clock (1 s resolution) is past `moment`.

    For future-dated requests: the system under test judges time by the server, so the harness
    does too. Sleeps only as long as the server says is left; never a fixed pause."""
    __tracebackhide__ = True
    deadline = time.monotonic() + limit
    with waiting(f"the API server's clock to pass {moment}", limit):
        return _wait_for_server_time(server_now, moment, deadline, limit)


def _wait_for_server_time(
    server_now: Callable[[], datetime], moment: datetime, deadline: float, limit: float
) -> datetime:
    __tracebackhide__ = True
    while True:
        now = server_now()
        if now > moment:
            return now
        left = (moment - now).total_seconds()
        if time.monotonic() + left > deadline:
            raise WaitTimeout(
                f"the API server's clock ({now}) will not pass {moment} within {limit:.0f} s"
            )
        time.sleep(min(max(left, 0.0), 1.0) + 0.05)


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
