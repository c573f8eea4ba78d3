"""Recorded histories by hand: a timeline of CR, VM and VMI states, as the watches would record
them, for trying expectations and verdicts without a cluster."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from harness.clients.fulfillment_api import InstanceSpec
from harness.contract.profiles import OSAC, Profile
from harness.testkit.history import ActionKind, InstanceHistory, RestartRequest
from harness.testkit.timeline import Timeline

HUB, TENANT, NAME, ID = "hub", "tenant", "vm-a", "id-1"
T0 = "2026-01-01T00:00:00Z"


def at(second: int) -> str:
    """Whole-second RFC 3339 times on one test minute."""
    return f"2026-01-01T00:00:{second:02d}Z"


def in_progress(profile: Profile, requested: str, status: str = "True") -> dict[str, Any]:
    return {
        "type": profile.conditions.restart_in_progress,
        "status": status,
        "reason": profile.restart.reason_in_progress,
        "message": profile.restart.message_initiated.format(requested=requested),
    }


def failed(profile: Profile, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": profile.conditions.restart_failed,
        "status": "True",
        "reason": reason,
        "message": message,
    }


class Recorded(InstanceHistory):
    """A history with the actions of a stack spelled out: each call records one watched state.

    The attributes an instance under test adds for expectations (spec asked, quiet window, the
    API's answers) are plain fields here."""

    def __init__(self, profile: Profile = OSAC) -> None:
        super().__init__(Timeline(), profile, ID, NAME, TENANT, NAME)
        self.spec = InstanceSpec()
        self.quiet_window = 0.05
        self.api: ApiAnswers | None = None
        self._rv = 0
        self._cr: dict[str, Any] = {
            "metadata": {
                "name": NAME,
                "namespace": HUB,
                "uid": "cr-uid",
                "labels": {profile.uuid_label: ID},
                "annotations": {profile.tenant_annotation: "tenant-a"},
                "finalizers": [profile.finalizer],
                "generation": 1,
            },
            "spec": {"templateID": "t"},
            "status": {
                "phase": profile.phases.running,
                "virtualMachineReference": {
                    "namespace": TENANT,
                    "kubeVirtVirtualMachineName": NAME,
                },
            },
        }
        self._vmis: dict[str, dict[str, Any]] = {}

    def _version(self) -> str:
        self._rv += 1
        return str(self._rv)

    # --- the CR ---------------------------------------------------------------------------

    def cr_state(
        self,
        *,
        spec: dict[str, Any] | None = None,
        status: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        event: str = "MODIFIED",
    ) -> Recorded:
        """Record the CR with these fields merged in (a None value removes a key); a spec
        change bumps metadata.generation, as the API server does."""
        before = copy.deepcopy(self._cr["spec"])
        for part, changes in (("spec", spec), ("status", status), ("metadata", metadata)):
            for key, value in (changes or {}).items():
                if value is None:
                    self._cr[part].pop(key, None)
                else:
                    self._cr[part][key] = value
        if self._cr["spec"] != before:
            self._cr["metadata"]["generation"] += 1
        self._cr["metadata"]["resourceVersion"] = self._version()
        self.timeline.record(self.profile.kind, event, _copy(self._cr))
        return self

    def conditions(self, *items: dict[str, Any]) -> Recorded:
        """Write these conditions as an operator would: observedGeneration is the CR's
        generation unless an item says otherwise (None: left out)."""
        written = []
        for item in items:
            condition = {"observedGeneration": self.generation, **item}
            if condition["observedGeneration"] is None:
                del condition["observedGeneration"]
            written.append(condition)
        return self.cr_state(status={"conditions": written})

    @property
    def generation(self) -> int:
        return int(self._cr["metadata"]["generation"])

    def cr_deleted(self) -> Recorded:
        return self.cr_state(event="DELETED")

    # --- VM and VMIs ----------------------------------------------------------------------

    def vm(
        self,
        labels: dict[str, str] | None = None,
        run_strategy: str = "Always",
        *,
        uid: str = "vm-uid",
        template: dict[str, Any] | None = None,
        printable: str = "Running",
        event: str = "ADDED",
    ) -> Recorded:
        spec: dict[str, Any] = {"runStrategy": run_strategy}
        if template is not None:
            spec["template"] = template
        self.timeline.record(
            "VirtualMachine",
            event,
            {
                "metadata": {
                    "name": NAME,
                    "namespace": TENANT,
                    "uid": uid,
                    "resourceVersion": self._version(),
                    "labels": {self.profile.instance_name_label: NAME}
                    if labels is None
                    else labels,
                },
                "spec": spec,
                "status": {"printableStatus": printable},
            },
        )
        return self

    def vmi(
        self, uid: str, created: str = T0, phase: str = "Running", event: str = "MODIFIED"
    ) -> Recorded:
        obj = {
            "metadata": {
                "name": NAME,
                "namespace": TENANT,
                "uid": uid,
                "creationTimestamp": created,
                "resourceVersion": self._version(),
            },
            "status": {"phase": phase},
        }
        self._vmis[uid] = obj
        self.timeline.record("VirtualMachineInstance", event, _copy(obj))
        return self

    def delete_vmi(self, uid: str) -> Recorded:
        obj = _copy(self._vmis[uid])
        obj["metadata"]["resourceVersion"] = self._version()
        self.timeline.record("VirtualMachineInstance", "DELETED", obj)
        return self

    # --- requests -------------------------------------------------------------------------

    def request(self, requested: str) -> RestartRequest:
        """A request sent now: the CR's spec takes it; the present is what ran before it."""
        running = self.running_vmi()
        before = RestartRequest(
            requested_at=requested,
            old_vmi_uid=running.uid if running else "",
            seq_before=self.last_seq(),
            spec_before=dict(self._cr["spec"]),
            status_before=_copy(self._cr["status"]),
        )
        self.note(ActionKind.REQUEST, requested)
        self.cr_state(spec={"restartRequestedAt": requested})
        return before

    def clean_restart(self, requested: str, old: str, new: str, created: str) -> RestartRequest:
        """A correct operator's restart of VMI `old` into `new`, recorded in order."""
        request = self.request(requested)
        self.conditions(in_progress(self.profile, requested))
        self.delete_vmi(old)
        self.vmi(new, created=created, phase="Scheduling", event="ADDED")
        self.vmi(new, created=created)
        self.cr_state(status={"lastRestartedAt": requested, "conditions": []})
        return request

    # --- what the instance under test asks the fulfillment API ----------------------------

    def api_view(self) -> Any:
        return self.api.view if self.api else None

    def api_lists_it(self) -> bool | None:
        return self.api.listed if self.api else None


@dataclass
class ApiAnswers:
    view: Any = None
    listed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_copy = copy.deepcopy
