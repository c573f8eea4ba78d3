"""A ComputeInstance under test: provision it, watch it, restart it, clean it up.

This is the vocabulary suites speak. It combines the fulfillment API client (requests), the
Kubernetes client (watches of the CR, VM and VMI) and the test's Timeline (history); suites
never touch a protocol.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.api import ApiError, ApiInstance, FulfillmentClient, InstanceSpec
from harness.config import Settings
from harness.contract.profiles import Profile
from harness.contract.timestamps import format_rfc3339, parse_rfc3339, truncate_to_second
from harness.kube import VM, VMI, KubeClient, instance_resource
from harness.recording import Observation, ResourceWatcher, Timeline
from harness.waits import condition, describe_instance, describe_vmi, wait_until

log = logging.getLogger("harness.instances")


@dataclass
class HarnessContext:
    """Everything a test needs to reach the system under test, built once per session."""

    settings: Settings
    kube: KubeClient
    api: FulfillmentClient

    @property
    def profile(self) -> Profile:
        return self.settings.profile


@dataclass(frozen=True)
class RestartRequest:
    requested_at: str
    old_vmi_uid: str
    old_vmi_created: str
    seq_before: int


@dataclass(frozen=True)
class RestartResult:
    request: RestartRequest
    completed: Observation
    new_vmi: Observation


class ComputeInstanceUnderTest:
    def __init__(
        self, context: HarnessContext, spec: InstanceSpec, timeline: Timeline | None = None
    ) -> None:
        self.context = context
        self.spec = spec
        self.profile = context.profile
        self.timeline = timeline or Timeline()
        self.api_instance: ApiInstance | None = None
        self.cr_name: str | None = None
        self.vm_namespace: str | None = None
        self.vm_name: str | None = None
        self._watchers: list[ResourceWatcher] = []
        self._api: FulfillmentClient = context.api

    # --- identity -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        assert self.api_instance is not None, "instance not created yet"
        return self.api_instance.id

    def cr(self) -> dict[str, Any] | None:
        observation = self.timeline.latest(self.profile.kind, self.cr_name)
        return observation.object if observation and observation.exists else None

    def cr_observation(self) -> Observation | None:
        return self.timeline.latest(self.profile.kind, self.cr_name)

    def current_vmi(self) -> Observation | None:
        return self.timeline.current(VMI.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def current_vm(self) -> Observation | None:
        return self.timeline.current(VM.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def vmi_observations(self) -> list[Observation]:
        return [o for o in self.timeline.observations(VMI.kind) if o.name == self.vm_name]

    def cr_observations(self) -> list[Observation]:
        return self.timeline.observations(self.profile.kind)

    def describe(self) -> str:
        return f"{describe_instance(self.cr_observation())}; {describe_vmi(self._last_vmi())}"

    def _last_vmi(self) -> Observation | None:
        observations = self.vmi_observations()
        return observations[-1] if observations else None

    # --- provisioning ---------------------------------------------------------------------

    def create(self) -> ApiInstance:
        self.api_instance = self._api.create(self.spec)
        self._watch(
            instance_resource(self.profile),
            self.context.settings.namespace,
            label_selector=f"{self.profile.uuid_label}={self.api_instance.id}",
        )
        return self.api_instance

    def wait_provisioned(self, timeout: float) -> Observation:
        """Phase running, a VM reference, and a Running VMI (watch-based)."""
        __tracebackhide__ = True
        running = self.profile.phases.running

        def reference_ready() -> Observation | None:
            observation = self.timeline.latest(self.profile.kind)
            if observation is None or not observation.exists:
                return None
            status = observation.object.get("status") or {}
            reference = status.get("virtualMachineReference") or {}
            if status.get("phase") == running and reference.get("kubeVirtVirtualMachineName"):
                return observation
            return None

        observation = wait_until(
            self.timeline,
            reference_ready,
            timeout,
            f"the new ComputeInstance (API id {self.id}) to reach phase {running} with a "
            "virtualMachineReference",
            self._describe_provisioning,
        )
        reference = observation.object["status"]["virtualMachineReference"]
        self.cr_name = observation.name
        self.vm_namespace = reference["namespace"]
        self.vm_name = reference["kubeVirtVirtualMachineName"]
        field = f"metadata.name={self.vm_name}"
        self._watch(VMI, self.vm_namespace, field_selector=field)
        self._watch(VM, self.vm_namespace, field_selector=field)
        return wait_until(
            self.timeline,
            self._running_vmi,
            timeout,
            f"VMI {self.vm_namespace}/{self.vm_name} to be Running",
            self.describe,
        )

    def _describe_provisioning(self) -> str:
        observation = self.timeline.latest(self.profile.kind)
        text = describe_instance(observation)
        if (
            observation is not None
            and not observation.object.get("status")
            and not observation.object["metadata"].get("finalizers")
        ):
            text += (
                f" — nothing has touched it: is an operator running and watching namespace "
                f"{observation.namespace}?"
            )
        return text

    def _running_vmi(self) -> Observation | None:
        vmi = self.current_vmi()
        if (
            vmi
            and (vmi.object.get("status") or {}).get("phase") == "Running"
            and not vmi.object["metadata"].get("deletionTimestamp")
        ):
            return vmi
        return None

    def _watch(
        self,
        resource: Any,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        watcher = ResourceWatcher(
            self.context.kube,
            resource,
            namespace,
            self.timeline,
            label_selector=label_selector,
            field_selector=field_selector,
        )
        self._watchers.append(watcher.start())

    # --- restart --------------------------------------------------------------------------

    def server_now(self) -> datetime:
        return truncate_to_second(self.context.kube.server_now())

    def request_restart(self, at: datetime | None = None) -> RestartRequest:
        """Ask the fulfillment API to restart at `at` (default: the API server's clock now)."""
        vmi = self._running_vmi()
        assert vmi is not None, f"no Running VMI to restart; {self.describe()}"
        moment = truncate_to_second(at if at is not None else self.server_now())
        seq_before = self.timeline.observations()[-1].seq
        self._api.request_restart(self.id, moment, self.spec.template)
        return RestartRequest(
            requested_at=format_rfc3339(moment),
            old_vmi_uid=vmi.uid,
            old_vmi_created=vmi.object["metadata"]["creationTimestamp"],
            seq_before=seq_before,
        )

    def wait_restart_completed(self, request: RestartRequest, timeout: float) -> RestartResult:
        """`lastRestartedAt` equals the request and a VMI with a new UID is Running."""
        __tracebackhide__ = True

        def completed() -> tuple[Observation, Observation] | None:
            cr = self.cr_observation()
            vmi = self._running_vmi()
            if cr is None or not cr.exists or vmi is None or vmi.uid == request.old_vmi_uid:
                return None
            if (cr.object.get("status") or {}).get("lastRestartedAt") != request.requested_at:
                return None
            return cr, vmi

        cr, vmi = wait_until(
            self.timeline,
            completed,
            timeout,
            f"the restart requested at {request.requested_at} to complete "
            f"(lastRestartedAt == {request.requested_at} and a Running VMI other than "
            f"uid {request.old_vmi_uid[:8]}…)",
            self.describe,
        )
        return RestartResult(request=request, completed=cr, new_vmi=vmi)

    # --- history --------------------------------------------------------------------------

    def conditions_seen(
        self, type_name: str, since_seq: int = 0
    ) -> list[tuple[Observation, dict[str, Any]]]:
        """Every recorded CR state in which condition `type_name` was present."""
        seen = []
        for observation in self.cr_observations():
            if observation.seq <= since_seq or not observation.exists:
                continue
            found = condition(observation.object, type_name)
            if found is not None:
                seen.append((observation, found))
        return seen

    def vmi_uids_seen(self, since_seq: int = 0) -> list[str]:
        uids: list[str] = []
        for observation in self.vmi_observations():
            if observation.seq > since_seq and observation.uid not in uids:
                uids.append(observation.uid)
        return uids

    def vmi_deleted(self, uid: str) -> Observation | None:
        for observation in self.vmi_observations():
            if observation.uid == uid and observation.event == "DELETED":
                return observation
        return None

    def api_view(self) -> ApiInstance:
        return self._api.get(self.id)

    # --- cleanup --------------------------------------------------------------------------

    def cleanup(self, timeout: float) -> str | None:
        """Delete through the API and wait until the CR is gone; returns a leak description."""
        leak: str | None = None
        try:
            if self.api_instance is not None:
                try:
                    self._api.delete(self.id)
                except ApiError as error:
                    if error.code != "NOT_FOUND":
                        leak = f"API Delete of {self.id} failed: {error}"
                gone = self.timeline.wait(
                    lambda: (
                        (obs := self.timeline.latest(self.profile.kind)) is None or not obs.exists
                    ),
                    timeout,
                )
                if not gone:
                    leak = (
                        f"ComputeInstance for API id {self.id} still present {timeout:.0f} s "
                        f"after Delete; {describe_instance(self.cr_observation())}"
                    )
        finally:
            for watcher in self._watchers:
                watcher.stop()
        return leak


def parse_time(text: str) -> datetime:
    return parse_rfc3339(text)
