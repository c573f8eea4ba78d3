"""The "last seen" text of recorded objects: what every timeout and failure message ends with."""

from __future__ import annotations

from harness.clients.resources import VMI
from harness.testkit.timeline import Observation


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


def describe_object(observation: Observation) -> str:
    """Any watched object: a VMI as `describe_vmi`, others by deletion state and finalizers."""
    if observation.kind == VMI.kind:
        return describe_vmi(observation)
    metadata = observation.metadata
    deleting = metadata.get("deletionTimestamp")
    return (
        f"{observation.kind} {observation.namespace}/{observation.name} uid {observation.uid[:8]}… "
        f"{'deleting since ' + deleting if deleting else 'not being deleted'}, finalizers "
        f"{metadata.get('finalizers') or []}, seen at +{observation.elapsed:.1f} s"
    )
