"""A ComputeInstance under test: provision it, watch it, restart it, clean it up.

This is the vocabulary suites speak. It combines a driver (requests through the fulfillment API
or straight on the CR), the Kubernetes client (watches of the CR, VM and VMI) and the test's
Timeline (history); suites never touch a protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from harness.clients.drivers import Driver, Rejection
from harness.clients.fulfillment_api import ApiInstance, FulfillmentClient, InstanceSpec
from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import POD, VM, VMI, instance_resource
from harness.config import Settings
from harness.contract import embedded
from harness.contract.profiles import LAUNCHER_VMI_LABEL, Profile
from harness.contract.timestamps import parse_rfc3339, truncate_to_second
from harness.testkit.progress import waiting
from harness.testkit.steps import step
from harness.testkit.timeline import Observation, ResourceWatcher, Timeline
from harness.testkit.waits import (
    WaitTimeout,
    condition,
    describe_instance,
    describe_vmi,
    wait_for_server_time,
    wait_until,
)

log = logging.getLogger("harness.testkit.instance")


@dataclass
class HarnessContext:
    """Everything a test needs to reach the system under test, built once per session."""

    settings: Settings
    kube: KubeClient
    api: FulfillmentClient | None
    driver: Driver

    @property
    def profile(self) -> Profile:
        return self.settings.profile

    @property
    def via(self) -> str:
        return self.driver.mode


@dataclass(frozen=True)
class RestartRequest:
    """A request as sent: the value the CR now holds, and what ran before it."""

    requested_at: str
    old_vmi_uid: str
    seq_before: int
    spec_before: dict[str, Any]
    status_before: dict[str, Any]


@dataclass(frozen=True)
class RestartResult:
    request: RestartRequest
    completed: Observation
    new_vmi: Observation


class ComputeInstanceUnderTest:
    def __init__(
        self,
        context: HarnessContext,
        spec: InstanceSpec,
        timeline: Timeline | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.context = context
        self.labels = dict(labels or {})  # the run ledger's run/worker/test labels
        self.spec = spec
        self.profile = context.profile
        self.driver = context.driver
        self.timeline = timeline or Timeline()
        self.id: str = ""
        self.cr_name: str | None = None
        self.vm_namespace: str | None = None
        self.vm_name: str | None = None
        self._watchers: list[ResourceWatcher] = []
        self._watching_vm = False
        self._since = ""  # resourceVersion from just before the create; every watch starts there
        self._undo: list[Callable[[], None]] = []

    def __repr__(self) -> str:  # how steps in the report name their instance parameter
        return f"ComputeInstance {self.cr_name or '<not seen yet>'} (id {self.id or '<none>'})"

    # --- reading the timeline -------------------------------------------------------------

    def cr_observation(self) -> Observation | None:
        return self.timeline.latest(self.profile.kind, self.cr_name)

    def cr(self) -> dict[str, Any] | None:
        observation = self.cr_observation()
        return observation.object if observation and observation.exists else None

    def status(self) -> dict[str, Any]:
        return dict((self.cr() or {}).get("status") or {})

    def current_vmi(self) -> Observation | None:
        return self.timeline.current(VMI.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def current_vm(self) -> Observation | None:
        return self.timeline.current(VM.kind).get((self.vm_namespace or "", self.vm_name or ""))

    def vmi_observations(self, since_seq: int = 0) -> list[Observation]:
        return [
            o
            for o in self.timeline.observations(VMI.kind)
            if o.name == self.vm_name and o.seq > since_seq
        ]

    def cr_observations(self, since_seq: int = 0) -> list[Observation]:
        return [o for o in self.timeline.observations(self.profile.kind) if o.seq > since_seq]

    def last_seq(self) -> int:
        observations = self.timeline.observations()
        return observations[-1].seq if observations else 0

    def describe(self) -> str:
        """The CR's last state, and the last state of the last two VMIs seen (during a restart:
        the old one and its replacement)."""
        latest: dict[str, Observation] = {}
        for observation in self.vmi_observations():
            latest.pop(observation.uid, None)
            latest[observation.uid] = observation
        vmis = "; ".join(describe_vmi(o) for o in list(latest.values())[-2:]) or describe_vmi(None)
        return f"{describe_instance(self.cr_observation())}; {vmis}"

    # --- provisioning ---------------------------------------------------------------------

    def create(self, restart_requested_at: datetime | None = None) -> str:
        """Create through the driver and start watching the CR (found by its uuid label).

        The watches start from a resourceVersion read before the create, so a state the
        operator sets and clears before they begin (a short-lived RestartFailed) is replayed."""
        self._since = self._version_before_create()
        self.id = self.driver.create(self.spec, restart_requested_at, self.labels)
        self._watch(
            instance_resource(self.profile),
            self.context.settings.namespace,
            label_selector=f"{self.profile.uuid_label}={self.id}",
        )
        return self.id

    def _version_before_create(self) -> str:
        try:
            return self.context.kube.collection_version(
                instance_resource(self.profile), self.context.settings.namespace
            )
        except Exception as error:  # list-then-watch still works, it may just miss a blip
            log.warning("could not read the ComputeInstance collection's version: %r", error)
            return ""

    def wait_cr(self, timeout: float) -> Observation:
        __tracebackhide__ = True
        observation = wait_until(
            self.timeline,
            lambda: self.timeline.latest(self.profile.kind),
            timeout,
            f"the ComputeInstance CR labelled {self.profile.uuid_label}={self.id}",
            lambda: "no CR with that label in namespace " + self.context.settings.namespace,
        )
        self._seen_cr(observation)
        return observation

    def wait_vm_reference(self, timeout: float, phase: str | None = None) -> Observation:
        """A virtualMachineReference (and `phase`, if given); then watch that VM and VMI."""
        __tracebackhide__ = True

        def referenced() -> Observation | None:
            observation = self.timeline.latest(self.profile.kind)
            if observation is None or not observation.exists:
                return None
            status = observation.object.get("status") or {}
            reference = status.get("virtualMachineReference") or {}
            if not reference.get("kubeVirtVirtualMachineName"):
                return None
            return observation if phase is None or status.get("phase") == phase else None

        wanted = (
            f"phase {phase} with a virtualMachineReference"
            if phase
            else "a virtualMachineReference"
        )
        observation = wait_until(
            self.timeline,
            referenced,
            timeout,
            f"the ComputeInstance (id {self.id}) to reach {wanted}",
            self._describe_provisioning,
        )
        self._seen_cr(observation)
        self._watch_vm(observation.object["status"]["virtualMachineReference"])
        return observation

    def _seen_cr(self, observation: Observation) -> None:
        """Remember the CR's name; give it the run labels if the system under test dropped
        them (a fulfillment service need not copy a Create's labels), so the sweep finds it."""
        first_sight = self.cr_name is None
        self.cr_name = observation.name
        carried = (observation.object.get("metadata") or {}).get("labels") or {}
        missing = {k: v for k, v in self.labels.items() if carried.get(k) != v}
        if first_sight and missing and observation.exists:
            try:
                self.context.kube.merge_patch(
                    instance_resource(self.profile),
                    self.context.settings.namespace,
                    observation.name,
                    {"metadata": {"labels": missing}},
                )
            except Exception as error:  # the ledger still has the name; the sweep GETs it
                log.warning("labelling ComputeInstance %s failed: %r", observation.name, error)

    def _watch_vm(self, reference: dict[str, Any]) -> None:
        if self._watching_vm:
            return
        self._watching_vm = True
        self.vm_namespace = reference["namespace"]
        self.vm_name = reference["kubeVirtVirtualMachineName"]
        field = f"metadata.name={self.vm_name}"
        self._watch(VMI, self.vm_namespace, field_selector=field)
        self._watch(VM, self.vm_namespace, field_selector=field)
        if not self.context.settings.embedded:
            # virt-launcher pods: evidence only, a cluster may not let us see them.
            self._watch(
                POD,
                self.vm_namespace,
                label_selector=f"{LAUNCHER_VMI_LABEL}={self.vm_name}",
                optional=True,
            )

    def wait_provisioned(self, timeout: float) -> Observation:
        """Phase running, a VM reference, and a Running VMI (watch-based)."""
        __tracebackhide__ = True
        self.wait_vm_reference(timeout, self.profile.phases.running)
        return wait_until(
            self.timeline,
            self.running_vmi,
            timeout,
            f"VMI {self.vm_namespace}/{self.vm_name} to be Running",
            self.describe,
        )

    def wait_stopped(self, timeout: float) -> Observation:
        """Phase Stopped, VM printableStatus Stopped and no VMI (a `Halted` instance)."""
        __tracebackhide__ = True
        stopped = self.profile.phases.stopped
        assert stopped, f"profile {self.profile.name} has no Stopped phase"
        self.wait_vm_reference(timeout)

        def halted() -> Observation | None:
            cr, vm = self.cr_observation(), self.current_vm()
            if cr is None or vm is None or self.current_vmi() is not None:
                return None
            phase = (cr.object.get("status") or {}).get("phase")
            printable = (vm.object.get("status") or {}).get("printableStatus")
            return cr if phase == stopped and printable == "Stopped" else None

        return wait_until(
            self.timeline,
            halted,
            timeout,
            "phase Stopped, VM printableStatus Stopped and no VMI",
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

    def running_vmi(self) -> Observation | None:
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
        optional: bool = False,
    ) -> None:
        watcher = ResourceWatcher(
            self.context.kube,
            resource,
            namespace,
            self.timeline,
            label_selector=label_selector,
            field_selector=field_selector,
            optional=optional,
            since=self._since,
        )
        self._watchers.append(watcher.start())

    # --- requests -------------------------------------------------------------------------

    def server_now(self) -> datetime:
        """The API server's clock, whole seconds: restart times never depend on ours."""
        return truncate_to_second(self.context.kube.server_now())

    def wait_for_server_time(self, moment: datetime) -> None:
        wait_for_server_time(self.context.kube.server_now, moment)

    @step("request a restart")
    def request_restart(self, at: datetime | str | None = None) -> RestartRequest:
        """Ask for a restart at `at` (default: the API server's clock now, whole seconds).

        A string goes to the CR verbatim (`--via cr` only), e.g. a sub-second value."""
        vmi = self.running_vmi()
        cr = self.cr() or {}
        seq_before = self.last_seq()
        moment: datetime | str = self.server_now() if at is None else at
        if isinstance(moment, datetime):
            moment = truncate_to_second(moment) if self.driver.mode == "cr" else moment
        assert self.cr_name is not None, "the CR is not known yet; wait for it first"
        requested = self.driver.request_restart(self.id, self.cr_name, moment)
        return RestartRequest(
            requested_at=requested,
            old_vmi_uid=vmi.uid if vmi else "",
            seq_before=seq_before,
            spec_before=dict(cr.get("spec") or {}),
            status_before=dict(cr.get("status") or {}),
        )

    def creation_request(self) -> RestartRequest:
        """The restart requested by the create itself (`restart_requested_at` on Create)."""
        cr = self.cr() or {}
        requested = (cr.get("spec") or {}).get("restartRequestedAt")
        assert requested, "the instance was not created with a restart request"
        return RestartRequest(
            requested_at=requested, old_vmi_uid="", seq_before=0, spec_before={}, status_before={}
        )

    @step("change {cr_path} to {value}")
    def change(self, cr_path: str, value: Any) -> Rejection | None:
        assert self.cr_name is not None, "the CR is not known yet"
        return self.driver.change(self.id, self.cr_name, cr_path, value)

    @step("set runStrategy {value}")
    def set_run_strategy(self, value: str) -> None:
        rejection = self.change("runStrategy", value)
        assert rejection is None, f"runStrategy {value} was refused: {rejection}"

    @step("delete the instance")
    def delete(self) -> None:
        self.driver.delete(self.id, self.cr_name)

    @step("annotate the CR: {key}={value}")
    def annotate(self, key: str, value: str | None) -> None:
        """Set (or with None remove) an annotation on the CR, as an administrator would; it is
        restored before cleanup (an unmanaged CR would otherwise never lose its finalizers)."""
        assert self.cr_name is not None, "the CR is not known yet"
        previous = ((self.cr() or {}).get("metadata", {}).get("annotations") or {}).get(key)
        name = self.cr_name

        def put(annotation: str | None) -> None:
            self.context.kube.merge_patch(
                instance_resource(self.profile),
                self.context.settings.namespace,
                name,
                {"metadata": {"annotations": {key: annotation}}},
            )

        put(value)
        self._undo.append(lambda: put(previous))

    @step("make the API server refuse the VMI deletion")
    def refuse_vmi_deletion(self) -> Callable[[], None]:
        """Make the embedded API server refuse to delete this instance's VMI to everyone but
        the harness (like an operator missing RBAC `delete` on VMIs); returns the undo."""
        assert self.vm_namespace and self.vm_name, "no VM reference yet"
        return self._refuse("delete", VMI.group, VMI.plural, self.vm_namespace, self.vm_name)

    @step("make the API server refuse the CR status writes")
    def refuse_status_writes(self) -> Callable[[], None]:
        """Make the embedded API server refuse every write of this CR's status to everyone but
        the harness — an operator that acts and then loses its status write, as if it crashed
        in between; returns the undo."""
        assert self.cr_name, "the CR is not known yet"
        return self._refuse(
            ("update", "patch"),
            self.profile.group,
            f"{self.profile.plural}/status",
            self.context.settings.namespace,
            self.cr_name,
        )

    def _refuse(
        self, verbs: str | tuple[str, ...], group: str, resource: str, namespace: str, name: str
    ) -> Callable[[], None]:
        kube = self.context.kube
        rule = f"refuse-{resource.replace('/', '-')}-{name}"
        kube.create_access_rule(
            embedded.deny_rule(
                rule,
                verbs,
                group,
                resource,
                namespaces=namespace,
                names=name,
                except_users=kube.whoami(),
            )
        )
        undo = lambda: kube.delete_access_rule(rule)  # noqa: E731
        self._undo.append(undo)
        return undo

    @step("delete the VMI (as a node drain would)")
    def delete_vmi(self) -> None:
        """Delete the VMI as something other than the operator would (a node drain, a user)."""
        assert self.vm_namespace and self.vm_name, "no VM reference yet"
        self.context.kube.delete(VMI, self.vm_namespace, self.vm_name)

    def api_view(self) -> ApiInstance | None:
        return self.driver.view(self.id)

    def api_lists_it(self) -> bool | None:
        """Whether the fulfillment API's List shows this instance (None with --via cr)."""
        return self.driver.listed(self.id)

    # --- waiting on outcomes --------------------------------------------------------------

    def wait_restart_completed(self, request: RestartRequest, timeout: float) -> RestartResult:
        """`lastRestartedAt` equals the request and a VMI with a new UID is Running."""
        __tracebackhide__ = True

        def completed() -> tuple[Observation, Observation] | None:
            cr = self.cr_observation()
            vmi = self.running_vmi()
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
            f"uid {request.old_vmi_uid[:8] or '<none>'}…)",
            self.describe,
        )
        return RestartResult(request=request, completed=cr, new_vmi=vmi)

    def wait_status(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> Observation:
        """The CR's latest state satisfies `predicate(cr)`."""
        __tracebackhide__ = True

        def check() -> Observation | None:
            observation = self.cr_observation()
            if observation is None or not observation.exists:
                return None
            return observation if predicate(observation.object) else None

        return wait_until(self.timeline, check, timeout, what, self.describe)

    @step("await condition {type_name}={status}")
    def wait_condition(
        self, type_name: str, status: str, timeout: float, reason: str | None = None
    ) -> dict[str, Any]:
        __tracebackhide__ = True

        def holds(cr: dict[str, Any]) -> bool:
            found = condition(cr, type_name)
            return bool(
                found
                and found.get("status") == status
                and (reason is None or found.get("reason") == reason)
            )

        what = f"condition {type_name}={status}" + (f" with reason {reason}" if reason else "")
        observation = self.wait_status(holds, timeout, what)
        found = condition(observation.object, type_name)
        assert found is not None
        return found

    @step("await the operator observing the request")
    def wait_request_observed(self, request: RestartRequest, timeout: float) -> Observation:
        """Proof the operator has seen the new spec: `status.desiredConfigVersion` (a hash of
        the whole spec, restartRequestedAt included; contract §4, §7.5) moved on."""
        __tracebackhide__ = True
        before = request.status_before.get("desiredConfigVersion")
        return self.wait_status(
            lambda cr: (
                bool((cr.get("status") or {}).get("desiredConfigVersion"))
                and (cr.get("status") or {}).get("desiredConfigVersion") != before
                and (cr.get("spec") or {}).get("restartRequestedAt") == request.requested_at
            ),
            timeout,
            f"the operator to observe restartRequestedAt {request.requested_at} "
            f"(status.desiredConfigVersion to move on from {before})",
        )

    @step("await the VMI deletion")
    def wait_vmi_deleted(self, uid: str, timeout: float) -> Observation:
        __tracebackhide__ = True
        return wait_until(
            self.timeline,
            lambda: self.vmi_deleted(uid),
            timeout,
            f"VMI uid {uid[:8]}… to be deleted",
            self.describe,
        )

    @step("await a replacement VMI Running")
    def wait_replacement_running(self, request: RestartRequest, timeout: float) -> Observation:
        """A Running VMI other than the one that ran before `request`."""
        __tracebackhide__ = True
        return wait_until(
            self.timeline,
            lambda: (vmi := self.running_vmi()) and vmi.uid != request.old_vmi_uid and vmi,
            timeout,
            f"a Running VMI other than uid {request.old_vmi_uid[:8]}…",
            self.describe,
        )

    def checkpoint(self) -> RestartRequest:
        """The present as a baseline for `expect_no_restart`: what runs now must stay."""
        vmi = self.running_vmi()
        cr = self.cr() or {}
        spec = dict(cr.get("spec") or {})
        return RestartRequest(
            requested_at=str(spec.get("restartRequestedAt") or ""),
            old_vmi_uid=vmi.uid if vmi else "",
            seq_before=self.last_seq(),
            spec_before=spec,
            status_before=dict(cr.get("status") or {}),
        )

    def from_now(self, request: RestartRequest) -> RestartRequest:
        """`request` re-based on the present: the VMI running now is the one that must stay."""
        return replace(self.checkpoint(), requested_at=request.requested_at)

    @step("watch a quiet window: no restart")
    def expect_no_restart(self, request: RestartRequest, window: float) -> None:
        """Watch `window` seconds for any sign of a restart after `request`; fail on one.

        Signs: a VMI deleted or a new VMI UID, RestartInProgress appearing, lastRestartedAt
        changing. A bounded watch, not a sleep: it returns the moment a sign shows."""
        __tracebackhide__ = True
        in_progress = self.profile.conditions.restart_in_progress
        last_before = request.status_before.get("lastRestartedAt")

        def sign() -> str | None:
            for observation in self.vmi_observations(request.seq_before):
                if observation.event == "DELETED" or observation.object["metadata"].get(
                    "deletionTimestamp"
                ):
                    return f"VMI uid {observation.uid[:8]}… was deleted"
                if observation.uid != request.old_vmi_uid and request.old_vmi_uid:
                    return f"a new VMI uid {observation.uid[:8]}… appeared"
            for observation in self.cr_observations(request.seq_before):
                status = observation.object.get("status") or {}
                if status.get("lastRestartedAt") != last_before:
                    return (
                        f"lastRestartedAt changed from {last_before} to "
                        f"{status.get('lastRestartedAt')}"
                    )
                found = condition(observation.object, in_progress)
                if (
                    found
                    and found.get("status") == "True"
                    and not condition({"status": request.status_before}, in_progress)
                ):
                    return f"{in_progress} became True ({found.get('message')})"
            return None

        with waiting(
            f"a quiet window: no restart after the request {request.requested_at}", window
        ):
            violation = self.timeline.wait(sign, window)
        if violation:
            raise AssertionError(
                f"the request {request.requested_at} should have been ignored, but {violation}; "
                f"{self.describe()}"
            )

    # --- history --------------------------------------------------------------------------

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

    def vmi_deleted(self, uid: str) -> Observation | None:
        for observation in self.vmi_observations():
            if observation.uid == uid and observation.event == "DELETED":
                return observation
        return None

    def last_restarted_history(self) -> list[str]:
        """Successive distinct values of status.lastRestartedAt, in the order seen."""
        values: list[str] = []
        for observation in self.cr_observations():
            value = (observation.object.get("status") or {}).get("lastRestartedAt")
            if value and (not values or values[-1] != value):
                values.append(value)
        return values

    # --- cleanup --------------------------------------------------------------------------

    @step("await the CR gone")
    def wait_gone(self, timeout: float) -> Observation | None:
        """The CR is deleted; None on timeout."""
        with waiting(f"instance {self.id} to be deleted", timeout):
            return self._wait_gone(timeout)

    def _wait_gone(self, timeout: float) -> Observation | None:
        return self.timeline.wait(
            lambda: (
                (obs := self.timeline.latest(self.profile.kind)) is not None
                and not obs.exists
                and obs
            ),
            timeout,
        )

    @step("check: no VM or VMI left behind")
    def wait_no_orphans(self, timeout: float) -> None:
        """No VM or VMI labelled with this instance's CR name remains, in any namespace."""
        __tracebackhide__ = True
        assert self.cr_name, "the CR was never seen"
        selector = f"{self.profile.instance_name_label}={self.cr_name}"
        timeline = Timeline()
        watchers = [
            ResourceWatcher(
                self.context.kube, resource, None, timeline, label_selector=selector
            ).start()
            for resource in (VM, VMI)
        ]
        try:

            def left() -> list[Observation]:
                return [o for kind in (VM.kind, VMI.kind) for o in timeline.current(kind).values()]

            with waiting(f"no VM or VMI labelled {selector}", timeout):
                cleared = timeline.wait(lambda: not left(), timeout)
            if cleared is None:
                raise AssertionError(
                    f"orphans {timeout:.0f} s after the ComputeInstance was deleted (deleting "
                    "the instance must remove its VM and VMI); last seen: "
                    + "; ".join(_describe_orphan(o) for o in left())
                )
        finally:
            for watcher in watchers:
                watcher.stop()

    def begin_cleanup(self, delete: bool = True) -> str | None:
        """Undo what the test arranged and ask for the deletion (`delete=False` keeps the objects
        for a person to look at); returns a leak description if the delete itself failed.
        `finish_cleanup` then waits for the deletion to complete."""
        for undo in self._undo:
            try:
                undo()
            except Exception as error:  # the object may already be gone; cleanup goes on
                log.warning("undo during cleanup of %s failed: %r", self.id, error)
        if self.id and delete:
            try:
                self.delete()
            except Exception as error:
                return f"deleting instance {self.id} failed: {error}"
        return None

    def finish_cleanup(self, timeout: float, wait: bool = True) -> str | None:
        """Wait until the CR is gone (if it was ever seen), then stop watching; returns a leak
        description. Safe off the test's thread: it records no steps and shows no progress."""
        try:
            seen = self.timeline.latest(self.profile.kind) is not None
            if wait and seen and self._wait_gone(timeout) is None:
                return (
                    f"ComputeInstance for id {self.id} still present {timeout:.0f} s "
                    f"after Delete; {describe_instance(self.cr_observation())}"
                )
            return None
        finally:
            for watcher in self._watchers:
                watcher.stop()


def _describe_orphan(observation: Observation) -> str:
    if observation.kind == VMI.kind:
        return describe_vmi(observation)
    metadata = observation.object.get("metadata", {})
    deleting = metadata.get("deletionTimestamp")
    return (
        f"{observation.kind} {observation.namespace}/{observation.name} uid {observation.uid[:8]}… "
        f"{'deleting since ' + deleting if deleting else 'not being deleted'}, finalizers "
        f"{metadata.get('finalizers') or []}, seen at +{observation.elapsed:.1f} s"
    )


def seconds_after(text: str, seconds: int) -> datetime:
    return parse_rfc3339(text) + timedelta(seconds=seconds)


__all__ = [
    "ComputeInstanceUnderTest",
    "HarnessContext",
    "InstanceSpec",
    "RestartRequest",
    "RestartResult",
    "WaitTimeout",
    "seconds_after",
]
