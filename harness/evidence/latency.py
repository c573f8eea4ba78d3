"""Restart latency from a recorded timeline: when each milestone of a restart was first seen.

A restart is one distinct value R of `spec.restartRequestedAt`. Its milestones are the first
watched states after the CR first carried R (`MILESTONES`, from `harness.contract.milestones`);
a phase lasts from the previous milestone seen to its own. Times are the harness's receipt of
each watch event (server timestamps have one-second resolution, too coarse for phases of a few
milliseconds).
A milestone may come before the one listed ahead of it — watches of different resources are
not ordered among themselves, and an operator completes once a VMI *created* after the request
exists, which may be before it runs — so a phase that would come out negative counts as 0, and
`total` (request acknowledged → conditions cleared) is not the sum of the phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.clients.resources import VMI
from harness.contract.milestones import MILESTONES, TOTAL
from harness.contract.profiles import Profile
from harness.testkit.history import condition
from harness.testkit.timeline import Observation, Timeline


@dataclass
class RestartSample:
    """One restart: its milestones (seconds after the request was acknowledged) and phases."""

    instance: str
    requested_at: str
    acknowledged_wall: float
    milestones: dict[str, float] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return "last_restarted_at" in self.milestones

    @property
    def phases(self) -> dict[str, float]:
        durations: dict[str, float] = {}
        previous = 0.0
        for name in MILESTONES[1:]:
            if name in self.milestones:
                durations[name] = round(max(0.0, self.milestones[name] - previous), 4)
                previous = max(previous, self.milestones[name])
        end = self.milestones.get("conditions_cleared", self.milestones.get("last_restarted_at"))
        if end is not None:
            durations[TOTAL] = round(end, 4)
        return durations

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "requested_at": self.requested_at,
            "completed": self.completed,
            "milestones": {k: round(v, 4) for k, v in self.milestones.items()},
            "phases": self.phases,
        }


def restart_samples(timeline: Timeline, profile: Profile) -> list[RestartSample]:
    """Every restart requested on the ComputeInstance(s) of `timeline`."""
    observations = timeline.observations()
    samples: list[RestartSample] = []
    seen: set[tuple[str, str]] = set()
    for observation in observations:
        if observation.kind != profile.kind or not observation.exists:
            continue
        requested = (observation.object.get("spec") or {}).get("restartRequestedAt")
        if not requested or (observation.uid, requested) in seen:
            continue
        seen.add((observation.uid, requested))
        samples.append(_sample(observations, observation, str(requested), profile))
    return samples


def _sample(
    observations: list[Observation], start: Observation, requested: str, profile: Profile
) -> RestartSample:
    sample = RestartSample(start.name, requested, start.wall_time, {"acknowledged": 0.0})
    types = profile.conditions
    vm_name = _vm_name(observations, start)
    before = [o for o in observations if o.seq < start.seq and o.kind == VMI.kind]
    old_uid = _running_before(before, vm_name)
    known_uids = {o.uid for o in before}
    new_uid = ""

    def mark(name: str, observation: Observation) -> None:
        if name not in sample.milestones:
            sample.milestones[name] = observation.wall_time - start.wall_time

    for o in observations:
        if o.seq < start.seq:
            continue
        if o.kind == profile.kind and o.uid == start.uid and o.exists:
            spec = o.object.get("spec") or {}
            if spec.get("restartRequestedAt") != requested:
                continue
            progress = condition(o.object, types.restart_in_progress)
            if progress and progress.get("status") == "True":
                mark("in_progress", o)
            if (o.object.get("status") or {}).get("lastRestartedAt") == requested:
                mark("last_restarted_at", o)
                failed = condition(o.object, types.restart_failed)
                if not any(c and c.get("status") == "True" for c in (progress, failed)):
                    mark("conditions_cleared", o)
        elif o.kind == VMI.kind and (not vm_name or o.name == vm_name):
            if old_uid and o.uid == old_uid:
                if o.event == "DELETED":
                    mark("old_vmi_deleting", o)
                    mark("old_vmi_gone", o)
                elif o.object.get("metadata", {}).get("deletionTimestamp"):
                    mark("old_vmi_deleting", o)
            elif o.uid not in known_uids and o.exists:
                new_uid = new_uid or o.uid
                if o.uid == new_uid:
                    mark("new_vmi_created", o)
                    if (o.object.get("status") or {}).get("phase") == "Running":
                        mark("new_vmi_running", o)
    return sample


def _vm_name(observations: list[Observation], start: Observation) -> str:
    for o in reversed(observations):
        if o.kind == start.kind and o.uid == start.uid:
            reference = (o.object.get("status") or {}).get("virtualMachineReference") or {}
            if reference.get("kubeVirtVirtualMachineName"):
                return str(reference["kubeVirtVirtualMachineName"])
    return ""


def _running_before(before: list[Observation], vm_name: str) -> str:
    """UID of the VMI that existed when the request was acknowledged."""
    latest: dict[str, Observation] = {}
    for o in before:
        if not vm_name or o.name == vm_name:
            latest[o.uid] = o
    alive = [o for o in latest.values() if o.exists]
    return alive[-1].uid if alive else ""
