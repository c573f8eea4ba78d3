"""A test's timeline as evidence: JSON lines (one record per watched event or API call, in the
order they happened) and a readable table for the report."""

from __future__ import annotations

import json
import time
from typing import Any

from harness.clients.resources import VM, VMI
from harness.contract.profiles import Profile
from harness.testkit.descriptions import describe_instance, describe_vmi
from harness.testkit.timeline import Observation, Timeline


def records(timeline: Timeline) -> list[dict[str, Any]]:
    """Every observation and API call, by sequence number, with server resourceVersions."""
    rows: list[dict[str, Any]] = [
        {
            "seq": o.seq,
            "time": round(o.wall_time, 4),
            "elapsed": round(o.elapsed, 4),
            "kind": o.kind,
            "event": o.event,
            "namespace": o.namespace,
            "name": o.name,
            "uid": o.uid,
            "resourceVersion": o.resource_version,
            "object": o.object,
        }
        for o in timeline.observations()
    ]
    rows += [
        {
            "seq": c.seq,
            "time": round(c.wall_time, 4),
            "elapsed": round(c.elapsed, 4),
            "kind": "ApiCall",
            "method": c.method,
            "code": c.code,
            "duration": round(c.duration, 4),
            "request": c.request,
            "answered": [
                {"id": a.id, "state": a.state, "conditions": a.conditions} for a in c.answered
            ],
        }
        for c in timeline.calls()
    ]
    return sorted(rows, key=lambda row: row["seq"])


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)


def _describe(observation: Observation, profile: Profile) -> str:
    if observation.kind == profile.kind:
        return describe_instance(observation)
    if observation.kind == VMI.kind:
        return describe_vmi(observation)
    obj = observation.object
    status = obj.get("status") or {}
    if observation.kind == VM.kind:
        spec = obj.get("spec") or {}
        return (
            f"VM {observation.name} printableStatus {status.get('printableStatus') or '<none>'}, "
            f"runStrategy {spec.get('runStrategy') or '<none>'}"
        )
    deleting = " (deleting)" if obj.get("metadata", {}).get("deletionTimestamp") else ""
    return (
        f"{observation.kind} {observation.name} phase {status.get('phase') or '<none>'}{deleting}"
    )


def table(timelines: list[tuple[str, Timeline]], profile: Profile) -> str:
    """One block per instance: `+elapsed  event  kind  rv  what`, in the order it happened."""
    blocks: list[str] = []
    for label, timeline in timelines:
        lines = [f"== {label} (started {_clock(timeline.started_wall)} UTC)"]
        lines.append(f"{'elapsed':>9}  {'event':8}  {'kind':22} {'rv':>8}  what")
        entries: list[tuple[int, str]] = []
        for o in timeline.observations():
            entries.append(
                (
                    o.seq,
                    f"+{o.elapsed:7.3f}s  {o.event:8}  {o.kind:22} {o.resource_version:>8}  "
                    f"{_describe(o, profile)}",
                )
            )
        for c in timeline.calls():
            entries.append(
                (
                    c.seq,
                    f"+{c.elapsed:7.3f}s  {'CALL':8}  {'fulfillment API':22} {'':>8}  "
                    f"{c.method} -> {c.code} ({c.duration * 1000:.0f} ms) {c.request[:160]}",
                )
            )
        lines += [text for _, text in sorted(entries)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _clock(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall))
