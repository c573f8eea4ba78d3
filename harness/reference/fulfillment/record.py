"""CR -> API `ComputeInstance` (contract §6 and §10).

The CR is the record, so every read maps it afresh:

- `id` is the value of the `<p>computeinstance-uuid` label;
- metadata: `name` is the CR name, `tenants` the `<p>tenant` annotation, creation and deletion
  timestamps (whole seconds), the CR's labels and annotations;
- status: `state` from `status.phase` by name through the profile; a CR without a phase is
  reported as the profile's starting state, the default fulfillment-service's controller sets;
- every condition type of the era's enum is reported (fulfillment-service creates them all as
  FALSE); CR conditions map by name (True/False/Unknown -> TRUE/FALSE/UNSPECIFIED) with reason,
  message and lastTransitionTime; when two CR conditions map to one API type (profile A:
  Progressing and Accepted), the first True one in the profile's order wins, else the first;
- `ip_address` from the `<p>floating-ip-address` annotation as the feedback controller does,
  else `status.ipAddress`; `last_restarted_at` from `status.lastRestartedAt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from google.protobuf.message import Message

from harness.contract.profiles import CONDITION_STATUS_NAMES, Profile
from harness.contract.wire.pools import copy_into
from harness.reference.fulfillment.spec import api_spec, timestamp


def instance_id(cr: dict[str, Any], profile: Profile) -> str:
    return str(((cr.get("metadata") or {}).get("labels") or {}).get(profile.uuid_label, ""))


@dataclass(frozen=True)
class RecordMapper:
    """Maps CRs to the messages of one `compute_instance_type_pb2` module (public or private)."""

    profile: Profile
    types: ModuleType
    hub: str = ""

    @property
    def private(self) -> bool:
        return "hub" in self.types.ComputeInstanceStatus.DESCRIPTOR.fields_by_name

    def _enum(self, name: str) -> Any:
        return getattr(self.types, name)

    def _condition_status_number(self, cr_status: Any) -> int:
        status_enum = self.types.ComputeInstanceCondition.DESCRIPTOR.fields_by_name[
            "status"
        ].enum_type
        name = CONDITION_STATUS_NAMES.get(str(cr_status), CONDITION_STATUS_NAMES["Unknown"])
        return int(status_enum.values_by_name[name].number)

    def state(self, phase: Any) -> int:
        states = self._enum(self.profile.grpc.state_enum)
        name = self.profile.state_for_phase(str(phase or self.profile.phases.starting))
        return int(states.Value(name))

    def conditions(self, cr_conditions: list[dict[str, Any]]) -> list[Message]:
        condition_types = self._enum(self.profile.grpc.condition_type_enum)
        false = self._condition_status_number("False")
        chosen: dict[str, dict[str, Any]] = {}
        order = list(self.profile.condition_type_by_name)
        by_type = {str(item.get("type")): item for item in cr_conditions if isinstance(item, dict)}
        for cr_type in order:
            item = by_type.get(cr_type)
            if item is None:
                continue
            api_type = self.profile.condition_type_by_name[cr_type]
            previous = chosen.get(api_type)
            if previous is None or (
                previous.get("status") != "True" and item.get("status") == "True"
            ):
                chosen[api_type] = item
        result = []
        for value in condition_types.DESCRIPTOR.values:
            if value.number == 0:
                continue
            condition = self.types.ComputeInstanceCondition(type=value.number, status=false)
            item = chosen.get(value.name)
            if item is not None:
                condition.status = self._condition_status_number(item.get("status"))
                condition.reason = str(item.get("reason") or "")
                condition.message = str(item.get("message") or "")
                transition = timestamp(item.get("lastTransitionTime"))
                if transition is not None:
                    copy_into(condition.last_transition_time, transition)
            result.append(condition)
        return result

    def fill_metadata(self, metadata: Message, cr: dict[str, Any]) -> None:
        meta = cr.get("metadata") or {}
        metadata.name = str(meta.get("name") or "")
        tenant = (meta.get("annotations") or {}).get(self.profile.tenant_annotation)
        if tenant:
            metadata.tenants.append(str(tenant))
        for field, key in (
            ("creation_timestamp", "creationTimestamp"),
            ("deletion_timestamp", "deletionTimestamp"),
        ):
            value = timestamp(meta.get(key))
            if value is not None:
                copy_into(getattr(metadata, field), value)
        metadata.labels.update({str(k): str(v) for k, v in (meta.get("labels") or {}).items()})
        metadata.annotations.update(
            {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        )

    def status(self, cr: dict[str, Any]) -> Message:
        cr_status = cr.get("status") or {}
        annotations = (cr.get("metadata") or {}).get("annotations") or {}
        status = self.types.ComputeInstanceStatus(state=self.state(cr_status.get("phase")))
        status.conditions.extend(self.conditions(cr_status.get("conditions") or []))
        address = annotations.get(self.profile.floating_ip_annotation) or cr_status.get("ipAddress")
        if address:
            status.ip_address = str(address)
        restarted = timestamp(cr_status.get("lastRestartedAt"))
        if restarted is not None:
            copy_into(status.last_restarted_at, restarted)
        if self.private:
            status.hub = self.hub
        return status

    def to_api(self, cr: dict[str, Any]) -> Message:
        instance = self.types.ComputeInstance(
            id=instance_id(cr, self.profile),
            spec=api_spec(cr.get("spec") or {}, self.types.ComputeInstanceSpec),
            status=self.status(cr),
        )
        self.fill_metadata(instance.metadata, cr)
        return instance
