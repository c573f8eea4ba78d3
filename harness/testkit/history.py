"""One instance's recorded history: read-only queries over its timeline, no cluster needed.

The timeline holds every watched state of the instance's CR, VM and VMI; `InstanceHistory`
answers questions about it (the CR now, the VMI UIDs seen since a request, when a VMI was
deleted, every value `lastRestartedAt` took). The instance under test is this plus actions and
waits; expectations judge this. A unit test builds one from a hand-made `Timeline`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.clients.resources import VM, VMI
from harness.contract.profiles import Profile
from harness.contract.timestamps import parse_rfc3339
from harness.testkit.descriptions import describe_instance, describe_vmi
from harness.testkit.timeline import Observation, Timeline


def condition(obj: dict[str, Any] | None, type_name: str) -> dict[str, Any] | None:
    """Condition `type_name` of an object's `status.conditions`, or None."""
    if not obj:
        return None
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_name:
            return dict(item)
    return None


class ActionKind(enum.Enum):
    """What the harness did to an instance, as far as the invariants care (`invariants.py`)."""

    REQUEST = "request a restart"
    WITHDRAW = "withdraw the request"
    RUN_STRATEGY = "change runStrategy"
    CHANGE = "change a spec field"
    DELETE_VMI = "delete the VMI"
    DELETE = "delete the instance"
    REFUSE_DELETION = "refuse the VMI deletion"
    REFUSE_STATUS = "refuse status writes"


@dataclass(frozen=True)
class Action:
    """One action, placed on the timeline: `seq` is the last observation before it."""

    kind: ActionKind
    seq: int
    value: str = ""


@dataclass(frozen=True)
class RestartRequest:
    """A request as sent: the value the CR now holds, and what ran before it."""

    requested_at: str
    old_vmi_uid: str
    seq_before: int
    spec_before: dict[str, Any]
    status_before: dict[str, Any]

    @property
    def moment(self) -> datetime:
        return parse_rfc3339(self.requested_at)

    @property
    def last_restarted_before(self) -> str | None:
        """`status.lastRestartedAt` when the request was sent."""
        return self.status_before.get("lastRestartedAt")


@dataclass(frozen=True)
class RestartResult:
    """A completed restart: the CR state that recorded it, and the VMI that replaced the old."""

    request: RestartRequest
    completed: Observation
    new_vmi: Observation

    @property
    def last_restarted_at(self) -> str | None:
        return self.completed.status.get("lastRestartedAt")

    @property
    def conditions(self) -> dict[str, dict[str, Any]]:
        """The CR's conditions when the restart completed, by type."""
        return self.completed.conditions


class InstanceHistory:
    """What was recorded of one ComputeInstance: its CR (by name once known) and its VM/VMI."""

    def __init__(
        self,
        timeline: Timeline,
        profile: Profile,
        instance_id: str = "",
        cr_name: str | None = None,
        vm_namespace: str | None = None,
        vm_name: str | None = None,
    ) -> None:
        self.timeline = timeline
        self.profile = profile
        self.id = instance_id
        self.cr_name = cr_name
        self.vm_namespace = vm_namespace
        self.vm_name = vm_name
        self.actions: list[Action] = []

    def note(self, kind: ActionKind, value: str = "") -> None:
        """Place an action of the harness on this instance's timeline."""
        self.actions.append(Action(kind, self.last_seq(), value))

    def actions_of(self, *kinds: ActionKind) -> list[Action]:
        return [action for action in self.actions if action.kind in kinds]

    # --- the present --------------------------------------------------------------------

    def cr_observation(self) -> Observation | None:
        return self.timeline.latest(self.profile.kind, self.cr_name)

    def cr(self) -> dict[str, Any] | None:
        observation = self.cr_observation()
        return observation.object if observation and observation.exists else None

    def status(self) -> dict[str, Any]:
        return dict((self.cr() or {}).get("status") or {})

    def current_vm(self) -> Observation | None:
        return self.timeline.current(VM.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def current_vmi(self) -> Observation | None:
        return self.timeline.current(VMI.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def running_vmi(self) -> Observation | None:
        """The current VMI if it is Running and not being deleted."""
        vmi = self.current_vmi()
        if vmi and vmi.status.get("phase") == "Running" and not vmi.deleting:
            return vmi
        return None

    def last_seq(self) -> int:
        observations = self.timeline.observations()
        return observations[-1].seq if observations else 0

    # --- the past -----------------------------------------------------------------------

    def cr_observations(self, since_seq: int = 0) -> list[Observation]:
        return [o for o in self.timeline.observations(self.profile.kind) if o.seq > since_seq]

    def vmi_observations(self, since_seq: int = 0) -> list[Observation]:
        return [
            o
            for o in self.timeline.observations(VMI.kind)
            if o.name == self.vm_name and o.seq > since_seq
        ]

    def conditions_seen(
        self, type_name: str, since_seq: int = 0
    ) -> list[tuple[Observation, dict[str, Any]]]:
        """Every recorded CR state in which condition `type_name` was present."""
        seen = []
        for observation in self.cr_observations(since_seq):
            if not observation.exists:
                continue
            found = condition(observation.object, type_name)
            if found is not None:
                seen.append((observation, found))
        return seen

    def vmi_uids_seen(self, since_seq: int = 0) -> list[str]:
        uids: list[str] = []
        for observation in self.vmi_observations(since_seq):
            if observation.uid not in uids:
                uids.append(observation.uid)
        return uids

    def new_vmi_uids(self, request: RestartRequest) -> list[str]:
        """The VMIs seen since `request`, other than the one that ran before it."""
        return [uid for uid in self.vmi_uids_seen(request.seq_before) if uid != request.old_vmi_uid]

    def vm_observations(self, since_seq: int = 0) -> list[Observation]:
        return [
            o
            for o in self.timeline.observations(VM.kind)
            if o.name == self.vm_name and o.seq > since_seq
        ]

    def vmi_deleted(self, uid: str) -> Observation | None:
        for observation in self.vmi_observations():
            if observation.uid == uid and observation.event == "DELETED":
                return observation
        return None

    def last_restarted_history(self) -> list[str]:
        """Successive distinct values of status.lastRestartedAt, in the order seen."""
        values: list[str] = []
        for observation in self.cr_observations():
            value = observation.status.get("lastRestartedAt")
            if value and (not values or values[-1] != value):
                values.append(value)
        return values

    def describe(self) -> str:
        """The CR's last state, and the last state of the last two VMIs seen (during a restart:
        the old one and its replacement)."""
        latest: dict[str, Observation] = {}
        for observation in self.vmi_observations():
            latest.pop(observation.uid, None)
            latest[observation.uid] = observation
        vmis = "; ".join(describe_vmi(o) for o in list(latest.values())[-2:]) or describe_vmi(None)
        return f"{describe_instance(self.cr_observation())}; {vmis}"
