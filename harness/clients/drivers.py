"""Two ways to drive an instance: through the fulfillment API, or straight on the CR.

`--via api` (the default) is what users do: Create, Update with a field mask, Delete over gRPC.
`--via cr` tests an operator alone, without a fulfillment service: the harness creates the
ComputeInstance CR itself (with the uuid label and tenant annotation the service would set) and
patches `spec.restartRequestedAt` directly — which also lets it send values the API cannot
express (a fraction of a second, a malformed string).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from google.protobuf import timestamp_pb2
from kubernetes.client.exceptions import ApiException

from harness.clients.fulfillment_api import ApiError, ApiInstance, FulfillmentClient, InstanceSpec
from harness.clients.kubernetes_api import KubeClient, api_error_summary
from harness.clients.resources import instance_resource
from harness.contract.profiles import Profile
from harness.contract.timestamps import format_rfc3339


@dataclass(frozen=True)
class Rejection:
    """The system under test refused a change: gRPC code name or HTTP status, and its words."""

    code: str
    message: str


@dataclass(frozen=True)
class SpecField:
    """A spec field by its CR path (`image.sourceRef`) and its API path (`image.source_ref`)."""

    cr_path: str
    api_path: str


SPEC_FIELDS = {
    field.cr_path: field
    for field in (
        SpecField("cores", "cores"),
        SpecField("memoryGiB", "memory_gib"),
        SpecField("image.sourceRef", "image.source_ref"),
        SpecField("bootDisk.sizeGiB", "boot_disk.size_gib"),
        SpecField("sshKey", "ssh_key"),
        SpecField("runStrategy", "run_strategy"),
        SpecField("restartRequestedAt", "restart_requested_at"),
    )
}


def _nested(path: str, value: Any) -> dict[str, Any]:
    result: Any = value
    for part in reversed(path.split(".")):
        result = {part: result}
    return dict(result)


class Driver(Protocol):
    mode: str

    def create(
        self,
        spec: InstanceSpec,
        restart_requested_at: datetime | None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Create an instance carrying `labels`; returns its id (the CR's uuid label)."""

    def request_restart(self, instance_id: str, cr_name: str, value: datetime | str) -> str:
        """Ask for a restart; returns the value the CR's spec should now hold."""

    def withdraw_restart(self, instance_id: str, cr_name: str) -> None:
        """Remove the request: spec.restartRequestedAt is absent afterwards."""

    def change(self, instance_id: str, cr_name: str, cr_path: str, value: Any) -> Rejection | None:
        """Change one spec field; a Rejection when the system under test refuses it."""

    def delete(self, instance_id: str, cr_name: str | None) -> None: ...

    def malformed_timestamp(self) -> Any:
        """A restartRequestedAt value this path can send but the contract must refuse."""

    def view(self, instance_id: str) -> ApiInstance | None:
        """The fulfillment API's view of the instance (None when driving the CR)."""

    def listed(self, instance_id: str) -> bool | None:
        """Whether the API's List shows the id (None when driving the CR)."""


class ApiDriver:
    mode = "api"

    def __init__(self, api: FulfillmentClient, spec_template: str) -> None:
        self.api = api
        self.template = spec_template

    def create(
        self,
        spec: InstanceSpec,
        restart_requested_at: datetime | None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        return self.api.create(spec, restart_requested_at=restart_requested_at, labels=labels).id

    def request_restart(self, instance_id: str, cr_name: str, value: datetime | str) -> str:
        if isinstance(value, str):
            raise TypeError("the API takes a Timestamp; raw strings need --via cr")
        self.api.request_restart(instance_id, value, self.template)
        return format_rfc3339(value)  # the API truncates to whole seconds (contract §11.4)

    def withdraw_restart(self, instance_id: str, cr_name: str) -> None:
        self.api.withdraw_restart(instance_id, self.template)

    def change(self, instance_id: str, cr_name: str, cr_path: str, value: Any) -> Rejection | None:
        try:
            self.api.update_field(instance_id, self.template, SPEC_FIELDS[cr_path].api_path, value)
        except ApiError as error:
            return Rejection(error.code, error.details)
        return None

    def malformed_timestamp(self) -> Any:
        # A Timestamp with negative nanos: valid protobuf, invalid time (Timestamp.CheckValid).
        return timestamp_pb2.Timestamp(seconds=1, nanos=-1)

    def delete(self, instance_id: str, cr_name: str | None) -> None:
        try:
            self.api.delete(instance_id)
        except ApiError as error:
            if error.code != "NOT_FOUND":
                raise

    def view(self, instance_id: str) -> ApiInstance | None:
        return self.api.get(instance_id)

    def listed(self, instance_id: str) -> bool | None:
        return any(item.id == instance_id for item in self.api.list())


class CrDriver:
    mode = "cr"

    def __init__(self, kube: KubeClient, profile: Profile, namespace: str, tenant: str) -> None:
        self.kube = kube
        self.profile = profile
        self.namespace = namespace
        self.tenant = tenant
        self.resource = instance_resource(profile)

    def manifest(
        self,
        spec: InstanceSpec,
        instance_id: str,
        restart_requested_at: datetime | str | None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The CR fulfillment-service would create (contract §9.2), written by the harness."""
        profile = self.profile
        cr_spec: dict[str, Any] = {"templateID": spec.template}
        if profile.explicit_spec_fields:
            cr_spec.update(
                image={"sourceType": spec.image_source_type, "sourceRef": spec.image_source_ref},
                cores=spec.cores,
                memoryGiB=spec.memory_gib,
                bootDisk={"sizeGiB": spec.boot_disk_gib},
                runStrategy=spec.run_strategy,
            )
        if restart_requested_at is not None:
            cr_spec["restartRequestedAt"] = (
                restart_requested_at
                if isinstance(restart_requested_at, str)
                else format_rfc3339(restart_requested_at)
            )
        return {
            "apiVersion": profile.api_version,
            "kind": profile.kind,
            "metadata": {
                "generateName": "vm-",
                "namespace": self.namespace,
                "labels": {**(labels or {}), profile.uuid_label: instance_id},
                "annotations": {profile.tenant_annotation: self.tenant},
            },
            "spec": cr_spec,
        }

    def create(
        self,
        spec: InstanceSpec,
        restart_requested_at: datetime | None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        instance_id = str(uuid.uuid4())
        self.kube.create_once(
            self.resource,
            self.namespace,
            self.manifest(spec, instance_id, restart_requested_at, labels),
            unique_selector=f"{self.profile.uuid_label}={instance_id}",
        )
        return instance_id

    def request_restart(self, instance_id: str, cr_name: str, value: datetime | str) -> str:
        text = value if isinstance(value, str) else format_rfc3339(value)
        self.kube.merge_patch(
            self.resource, self.namespace, cr_name, {"spec": {"restartRequestedAt": text}}
        )
        return text

    def withdraw_restart(self, instance_id: str, cr_name: str) -> None:
        # A merge patch's null removes the key.
        self.kube.merge_patch(
            self.resource, self.namespace, cr_name, {"spec": {"restartRequestedAt": None}}
        )

    def change(self, instance_id: str, cr_name: str, cr_path: str, value: Any) -> Rejection | None:
        try:
            self.kube.merge_patch(
                self.resource, self.namespace, cr_name, {"spec": _nested(cr_path, value)}
            )
        except ApiException as error:
            return Rejection(str(error.status), api_error_summary(error))
        return None

    def malformed_timestamp(self) -> Any:
        return "not-a-time"

    def delete(self, instance_id: str, cr_name: str | None) -> None:
        if cr_name is not None:
            self.kube.delete(self.resource, self.namespace, cr_name)
            return
        items, _ = self.kube.list(
            self.resource, self.namespace, label_selector=f"{self.profile.uuid_label}={instance_id}"
        )
        for item in items:
            self.kube.delete(self.resource, self.namespace, item["metadata"]["name"])

    def view(self, instance_id: str) -> ApiInstance | None:
        return None

    def listed(self, instance_id: str) -> bool | None:
        return None
