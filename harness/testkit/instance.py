"""A ComputeInstance under test: create it, ask for things, wait for what follows.

Suites speak this. An instance is its recorded history (`history.py`) plus the actions a user or
an administrator takes — through a driver (the fulfillment API, or the CR straight), the
Kubernetes client and the test's timeline — and waits that block on that timeline. Waits take
their timeouts from the settings (`--provision-timeout`, `--restart-timeout`); a test passes
one only to override. Cleanup lives in `harness.plugin.cleanup`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from harness.clients.drivers import Driver, Rejection
from harness.clients.fulfillment_api import ApiInstance, FulfillmentClient, InstanceSpec
from harness.clients.kubernetes_api import KubeClient
from harness.clients.refusals import Refusals
from harness.clients.resources import POD, VM, VMI, instance_resource
from harness.config import Settings
from harness.contract.profiles import LAUNCHER_VMI_LABEL, Profile
from harness.contract.timestamps import truncate_to_second
from harness.testkit.descriptions import describe_instance, describe_object
from harness.testkit.expectations import (
    ExpectedCondition,
    assert_condition,
    assert_observed_generations,
)
from harness.testkit.history import (
    ActionKind,
    InstanceHistory,
    RestartRequest,
    RestartResult,
    condition,
)
from harness.testkit.invariants import first_violation
from harness.testkit.progress import waiting
from harness.testkit.steps import step
from harness.testkit.timeline import Observation, Timeline
from harness.testkit.verdicts import (
    last_restarted_violation,
    recorded_early,
    restart_completed,
    restart_loop,
    restart_violation,
    why_no_completion,
)
from harness.testkit.waits import WaitTimeout, judge, wait_for_server_time, wait_until
from harness.testkit.watchers import ResourceWatcher

log = logging.getLogger("harness.testkit.instance")

# After lastRestartedAt is recorded while the old VMI still runs: how long its deletion's watch
# event may lag (watches of two resources are not ordered) before that counts as a violation.
RECORDED_GRACE = 3.0


@dataclass
class HarnessContext:
    """Everything a test needs to reach the system under test, built once per session."""

    settings: Settings
    kube: KubeClient
    api: FulfillmentClient | None
    driver: Driver

    @functools.cached_property
    def refusals(self) -> Refusals:
        """How this server can be made to refuse one request (AccessRule or admission policy)."""
        return Refusals(self.kube)

    @property
    def profile(self) -> Profile:
        return self.settings.profile

    @property
    def via(self) -> str:
        return self.driver.mode


class ComputeInstanceUnderTest(InstanceHistory):
    def __init__(
        self,
        context: HarnessContext,
        spec: InstanceSpec,
        timeline: Timeline | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(timeline or Timeline(), context.profile)
        self.context = context
        self.labels = dict(labels or {})  # the run ledger's run/worker/test labels
        self.spec = spec
        self.driver = context.driver
        self.watchers: list[ResourceWatcher] = []
        self.undo_actions: list[Callable[[], None]] = []  # what cleanup restores first
        self.create_sent = False  # a create was sent, though its answer (the id) may be lost
        self._watching_vm = False
        self._reconciled: Observation | None = None
        self._since = ""  # resourceVersion from just before the create; every watch starts there

    def __repr__(self) -> str:  # how steps in the report name their instance parameter
        return f"ComputeInstance {self.cr_name or '<not seen yet>'} (id {self.id or '<none>'})"

    @property
    def provision_timeout(self) -> float:
        return self.context.settings.provision_timeout

    @property
    def restart_timeout(self) -> float:
        return self.context.settings.restart_timeout

    @property
    def quiet_window(self) -> float:
        return self.context.settings.quiet_window

    # --- provisioning ---------------------------------------------------------------------

    def create(self, restart_requested_at: datetime | None = None) -> str:
        """Create through the driver and start watching the CR (found by its uuid label).

        The watches start from a resourceVersion read before the create, so a state the
        operator sets and clears before they begin (a short-lived RestartFailed) is replayed."""
        self._since = self._version_before_create()
        self.create_sent = True
        if restart_requested_at is not None:
            self.note(ActionKind.REQUEST)
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

    def wait_cr(self, timeout: float | None = None) -> Observation:
        __tracebackhide__ = True
        observation = wait_until(
            self.timeline,
            lambda: self.timeline.latest(self.profile.kind),
            self.provision_timeout if timeout is None else timeout,
            f"the ComputeInstance CR labelled {self.profile.uuid_label}={self.id}",
            lambda: "no CR with that label in namespace " + self.context.settings.namespace,
        )
        self._seen_cr(observation)
        return observation

    def wait_vm_reference(
        self, timeout: float | None = None, phase: str | None = None
    ) -> Observation:
        """A virtualMachineReference (and `phase`, if given); then watch that VM and VMI."""
        __tracebackhide__ = True

        def referenced() -> Observation | None:
            observation = self.timeline.latest(self.profile.kind)
            if observation is None or not observation.exists:
                return None
            reference = observation.status.get("virtualMachineReference") or {}
            if not reference.get("kubeVirtVirtualMachineName"):
                return None
            return (
                observation if phase is None or observation.status.get("phase") == phase else None
            )

        self.wait_reconciling(timeout)
        wanted = (
            f"phase {phase} with a virtualMachineReference"
            if phase
            else "a virtualMachineReference"
        )
        observation = wait_until(
            self.timeline,
            referenced,
            self.provision_timeout if timeout is None else timeout,
            f"the ComputeInstance (id {self.id}) to reach {wanted}",
            self._describe_provisioning,
        )
        self._seen_cr(observation)
        self._watch_vm(observation.status["virtualMachineReference"])
        return observation

    def wait_provisioned(self, timeout: float | None = None) -> Observation:
        """Phase running, a VM reference, and a Running VMI (returned)."""
        __tracebackhide__ = True
        self.wait_vm_reference(timeout, self.profile.phases.running)
        return wait_until(
            self.timeline,
            self.running_vmi,
            self.provision_timeout if timeout is None else timeout,
            f"VMI {self.vm_namespace}/{self.vm_name} to be Running",
            self.describe,
        )

    def wait_stopped(self, timeout: float | None = None) -> Observation:
        """Phase Stopped, VM printableStatus Stopped and no VMI (a `Halted` instance); returns
        the CR state."""
        __tracebackhide__ = True
        stopped = self.profile.phases.stopped
        assert stopped, f"profile {self.profile.name} has no Stopped phase"
        self.wait_vm_reference(timeout)

        def halted() -> Observation | None:
            cr, vm = self.cr_observation(), self.current_vm()
            if cr is None or vm is None or self.current_vmi() is not None:
                return None
            printable = vm.status.get("printableStatus")
            return cr if cr.status.get("phase") == stopped and printable == "Stopped" else None

        return wait_until(
            self.timeline,
            halted,
            self.provision_timeout if timeout is None else timeout,
            "phase Stopped, VM printableStatus Stopped and no VMI",
            self.describe,
        )

    def wait_reconciling(self, timeout: float | None = None) -> Observation:
        """The CR, touched by a controller (its finalizer or a status) within the operator
        liveness bound: an operator adds its finalizer within seconds of a create, so its
        absence is told apart from slow provisioning long before the provisioning timeout."""
        __tracebackhide__ = True
        limit = self.provision_timeout if timeout is None else timeout
        if self._reconciled is not None:
            return self._reconciled
        if self.cr_name is None:
            self.wait_cr(limit)
        bound = min(self.context.settings.operator_liveness_timeout, limit)

        def touched() -> Observation | None:
            observation = self.timeline.latest(self.profile.kind)
            if observation is None or not observation.exists:
                return None
            if observation.status or observation.metadata.get("finalizers"):
                return observation
            return None

        with waiting("a controller to touch the ComputeInstance", bound):
            observation = self.timeline.wait(touched, bound)
        if not observation:
            namespace = self.context.settings.namespace
            raise WaitTimeout(
                f"no operator is reconciling ComputeInstance {self.cr_name} (id {self.id}) in "
                f"namespace {namespace}: nothing added a finalizer or wrote its status — waited "
                f"{bound:.0f} s (--operator-liveness-timeout); check that the operator is "
                f"running, watches namespace {namespace} and may update ComputeInstances "
                f"there (`python -m harness doctor`), and read its log; last seen: "
                f"{describe_instance(self.timeline.latest(self.profile.kind))}"
            )
        self._reconciled = observation
        return observation

    def _seen_cr(self, observation: Observation) -> None:
        """Remember the CR's name; give it the run labels if the system under test dropped
        them (a fulfillment service need not copy a Create's labels), so the sweep finds it."""
        first_sight = self.cr_name is None
        self.cr_name = observation.name
        carried = observation.metadata.get("labels") or {}
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
        settings = self.context.settings
        if not settings.embedded or settings.control_plane == "real":
            # virt-launcher pods: evidence only, a cluster may not let us see them (the
            # embedded API server serves no pods).
            self._watch(
                POD,
                self.vm_namespace,
                label_selector=f"{LAUNCHER_VMI_LABEL}={self.vm_name}",
                optional=True,
            )

    def _describe_provisioning(self) -> str:
        observation = self.timeline.latest(self.profile.kind)
        text = describe_instance(observation)
        if (
            observation is not None
            and not observation.status
            and not observation.metadata.get("finalizers")
        ):
            text += (
                f" — nothing has touched it: is an operator running and watching namespace "
                f"{observation.namespace}?"
            )
        return text

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
        self.watchers.append(watcher.start())

    def stop_watching(self) -> None:
        for watcher in self.watchers:
            watcher.stop()

    # --- requests and changes -------------------------------------------------------------

    def server_now(self) -> datetime:
        """The API server's clock, whole seconds: restart times never depend on ours."""
        return truncate_to_second(self.context.kube.server_now())

    def wait_for_server_time(self, moment: datetime) -> None:
        """Block until the API server's clock is past `moment` (1 s resolution)."""
        wait_for_server_time(self.context.kube.server_now, moment)

    @step("request a restart")
    def request_restart(self, at: datetime | str | None = None) -> RestartRequest:
        """Ask for a restart at `at` (default: the API server's clock now, whole seconds).

        A string goes to the CR verbatim (`--via cr` only), e.g. a sub-second value."""
        before = self.checkpoint()
        moment: datetime | str = self.server_now() if at is None else at
        if isinstance(moment, datetime):
            moment = truncate_to_second(moment) if self.driver.mode == "cr" else moment
        assert self.cr_name is not None, "the CR is not known yet; wait for it first"
        self.note(ActionKind.REQUEST)
        requested = self.driver.request_restart(self.id, self.cr_name, moment)
        self.actions[-1] = replace(self.actions[-1], value=requested)
        return replace(before, requested_at=requested)

    @step("withdraw the restart request")
    def withdraw_restart(self) -> RestartRequest:
        """Remove spec.restartRequestedAt; returns the present before it, as the baseline for
        what must not happen next (contract §7.2 step 1)."""
        before = self.checkpoint()
        assert self.cr_name is not None, "the CR is not known yet; wait for it first"
        self.note(ActionKind.WITHDRAW)
        self.driver.withdraw_restart(self.id, self.cr_name)
        return before

    def creation_request(self) -> RestartRequest:
        """The restart requested by the create itself (`restart_requested_at` on Create)."""
        requested = ((self.cr() or {}).get("spec") or {}).get("restartRequestedAt")
        assert requested, "the instance was not created with a restart request"
        return RestartRequest(
            requested_at=requested, old_vmi_uid="", seq_before=0, spec_before={}, status_before={}
        )

    def checkpoint(self) -> RestartRequest:
        """The present as a baseline for `assert_no_restart`: what runs now must stay."""
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

    @step("change {cr_path} to {value}")
    def change(self, cr_path: str, value: Any) -> Rejection | None:
        """Change one spec field; the refusal, if the system under test refuses it."""
        assert self.cr_name is not None, "the CR is not known yet"
        kind = ActionKind.RUN_STRATEGY if cr_path == "runStrategy" else ActionKind.CHANGE
        self.note(kind, f"{cr_path}={value}")
        return self.driver.change(self.id, self.cr_name, cr_path, value)

    @step("set runStrategy {value}")
    def set_run_strategy(self, value: str) -> None:
        rejection = self.change("runStrategy", value)
        assert rejection is None, f"runStrategy {value} was refused: {rejection}"

    @step("delete the instance")
    def delete(self) -> None:
        self.note(ActionKind.DELETE)
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
        self.undo_actions.append(lambda: put(previous))

    @step("make the API server refuse the VMI deletion")
    def refuse_vmi_deletion(self) -> Callable[[], None]:
        """Make the API server refuse to delete this instance's VMI to everyone but the harness
        (as an operator missing RBAC `delete` on VMIs would meet it); returns the undo."""
        assert self.vm_namespace and self.vm_name, "no VM reference yet"
        self.note(ActionKind.REFUSE_DELETION)
        undo = self.context.refusals.refuse(("delete",), VMI, self.vm_namespace, self.vm_name)
        self.undo_actions.append(undo)
        return undo

    @step("make the API server refuse the CR status writes")
    def refuse_status_writes(self) -> Callable[[], None]:
        """Make the API server refuse every write of this CR's status to everyone but the
        harness — an operator that acts and then loses its status write, as if it crashed in
        between; returns the undo."""
        assert self.cr_name, "the CR is not known yet"
        self.note(ActionKind.REFUSE_STATUS)
        undo = self.context.refusals.refuse(
            ("update", "patch"),
            instance_resource(self.profile),
            self.context.settings.namespace,
            self.cr_name,
            subresource="status",
        )
        self.undo_actions.append(undo)
        return undo

    @step("delete the VMI (as a node drain would)")
    def delete_vmi(self) -> None:
        """Delete the VMI as something other than the operator would (a node drain, a user)."""
        assert self.vm_namespace and self.vm_name, "no VM reference yet"
        self.note(ActionKind.DELETE_VMI)
        self.context.kube.delete(VMI, self.vm_namespace, self.vm_name)

    def api_view(self) -> ApiInstance | None:
        """The fulfillment API's view of the instance (None with --via cr)."""
        return self.driver.view(self.id)

    def api_lists_it(self) -> bool | None:
        """Whether the fulfillment API's List shows this instance (None with --via cr)."""
        return self.driver.listed(self.id)

    # --- waiting on outcomes --------------------------------------------------------------

    @step("await the restart")
    def wait_restart_completed(
        self,
        request: RestartRequest,
        timeout: float | None = None,
        failure_expected: bool = False,
    ) -> RestartResult:
        """`lastRestartedAt` equals the request and a VMI with a new UID runs.

        A history that already breaks the contract on the way fails at once, naming the clause:
        lastRestartedAt set to anything but the request (§7.4), RestartInProgress removed
        without completing (§7.4), RestartFailed where the scenario admits no failure (§7.3;
        `failure_expected` for the scenarios that provoke one). A timeout says what the
        operator did and did not do, then what was last seen."""
        __tracebackhide__ = True
        timeout = self.restart_timeout if timeout is None else timeout

        def verdict() -> str | tuple[Observation, Observation] | None:
            return (
                restart_violation(self, request, failure_expected)
                or first_violation(self)
                or restart_completed(self, request)
            )

        started = time.monotonic()
        with waiting(f"the restart requested at {request.requested_at} to complete", timeout):
            outcome = self.timeline.wait(
                lambda: verdict() or recorded_early(self, request), timeout
            )
        if outcome is True:
            # Completion was declared while the old VMI still runs: give its deletion's watch
            # event a moment to arrive, then judge.
            grace = min(RECORDED_GRACE, max(0.0, timeout - (time.monotonic() - started)))
            outcome = self.timeline.wait(verdict, grace)
            if not outcome and recorded_early(self, request):
                outcome = why_no_completion(self, request)
        completed, new_vmi = judge(
            outcome,
            timeout,
            f"the restart requested at {request.requested_at} to complete",
            lambda: why_no_completion(self, request),
            self.describe,
        )
        return RestartResult(request=request, completed=completed, new_vmi=new_vmi)

    @step("await lastRestartedAt {expected}")
    def wait_last_restarted_at(
        self, request: RestartRequest, expected: str, timeout: float | None = None
    ) -> Observation:
        """lastRestartedAt == `expected` (the current request, once a newer VMI exists); fails
        at once, naming the clause, when it takes any other value after `request` (§7.4)."""
        __tracebackhide__ = True
        timeout = self.restart_timeout if timeout is None else timeout

        def outcome() -> Observation | str | None:
            violation = last_restarted_violation(self, request, expected)
            if violation:
                return violation
            latest = self.cr_observation()
            found = latest is not None and latest.exists
            return latest if found and latest.status.get("lastRestartedAt") == expected else None

        with waiting(f"lastRestartedAt == {expected}", timeout):
            found = self.timeline.wait(outcome, timeout)
        return judge(
            found,
            timeout,
            f"lastRestartedAt == {expected}",
            lambda: why_no_completion(self, replace(request, requested_at=expected)),
            self.describe,
        )

    @step("await RestartInProgress=True")
    def wait_restart_in_progress(self, timeout: float | None = None) -> dict[str, Any]:
        """RestartInProgress=True (returned); fails at once, naming the clause, if RestartFailed
        turns True instead (for scenarios where the contract has the operator wait, not fail:
        §7.3 row 2)."""
        __tracebackhide__ = True
        timeout = self.restart_timeout if timeout is None else timeout
        types = self.profile.conditions

        def either() -> tuple[str, dict[str, Any]] | None:
            cr = self.cr()
            for type_name in (types.restart_failed, types.restart_in_progress):
                found = condition(cr, type_name)
                if found and found.get("status") == "True":
                    return type_name, found
            return None

        with waiting(f"{types.restart_in_progress}=True", timeout):
            outcome = self.timeline.wait(either, timeout)
        if not outcome:
            raise WaitTimeout(
                f"waited {timeout:.0f} s for condition {types.restart_in_progress}=True "
                f"(contract §7.3); last seen: {self.describe()}"
            )
        type_name, found = outcome
        assert type_name == types.restart_in_progress, (
            f"{type_name}=True ({found.get('reason')}: {found.get('message')!r}) where the "
            f"contract has the operator wait: {types.restart_in_progress}=True, no "
            f"{types.restart_failed} (contract §7.3 row 2, §7.6 row 7: a VM without a VMI)"
        )
        assert_observed_generations(self)
        return found

    @step("await both restart conditions removed")
    def wait_restart_conditions_removed(
        self, since: RestartRequest, timeout: float | None = None
    ) -> Observation:
        """Neither RestartInProgress nor RestartFailed is left on the CR (returned); fails at
        once when one is set False instead of removed (contract §7.2 step 1)."""
        __tracebackhide__ = True
        timeout = self.restart_timeout if timeout is None else timeout
        types = self.profile.conditions
        restart_types = (types.restart_in_progress, types.restart_failed)

        def outcome() -> Observation | str | None:
            for observation in self.cr_observations(since.seq_before):
                for type_name in restart_types:
                    found = observation.conditions.get(type_name)
                    if found is not None and found.get("status") != "True":
                        return (
                            f"{type_name} was set {found.get('status')} "
                            f"({found.get('reason')}: {found.get('message')!r}) instead of "
                            "being removed (contract §7.2 step 1: without a request both restart "
                            "conditions are deleted from the list, not set False)"
                        )
            latest = self.cr_observation()
            if latest is None or not latest.exists:
                return None
            return None if set(latest.conditions) & set(restart_types) else latest

        what = f"{' and '.join(restart_types)} to be removed"
        with waiting(what, timeout):
            found = self.timeline.wait(outcome, timeout)
        return judge(
            found,
            timeout,
            what,
            lambda: (
                "a restart condition is still there after the request was withdrawn (contract "
                "§7.2 step 1: without spec.restartRequestedAt both restart conditions are removed)"
            ),
            self.describe,
        )

    @step("await {expected}")
    def wait_condition(
        self, expected: ExpectedCondition, timeout: float | None = None
    ) -> dict[str, Any]:
        """The CR's condition of `expected.type` reaches `expected.status`; then its reason and
        message must be the contract's (`assert_condition`). Returns the condition."""
        __tracebackhide__ = True

        def holds(cr: dict[str, Any]) -> bool:
            found = condition(cr, expected.type)
            return bool(found and found.get("status") == expected.status)

        observation = self.wait_status(
            holds,
            self.restart_timeout if timeout is None else timeout,
            f"condition {expected.type}={expected.status} (contract {expected.clause})",
        )
        found = assert_condition(condition(observation.object, expected.type), expected)
        assert_observed_generations(self)
        return found

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

    @step("await the operator observing the request")
    def wait_request_observed(
        self, request: RestartRequest, timeout: float | None = None
    ) -> Observation:
        """Proof the operator has seen the new spec: `status.desiredConfigVersion` (a hash of
        the whole spec, restartRequestedAt included; contract §4, §7.5) moved on."""
        __tracebackhide__ = True
        before = request.status_before.get("desiredConfigVersion")

        def observed(cr: dict[str, Any]) -> bool:
            version = (cr.get("status") or {}).get("desiredConfigVersion")
            requested = (cr.get("spec") or {}).get("restartRequestedAt")
            return bool(version) and version != before and requested == request.requested_at

        return self.wait_status(
            observed,
            self.restart_timeout if timeout is None else timeout,
            f"the operator to observe restartRequestedAt {request.requested_at} "
            f"(status.desiredConfigVersion to move on from {before})",
        )

    @step("await the VMI deletion")
    def wait_vmi_deleted(self, uid: str, timeout: float | None = None) -> Observation:
        __tracebackhide__ = True
        return wait_until(
            self.timeline,
            lambda: self.vmi_deleted(uid),
            self.restart_timeout if timeout is None else timeout,
            f"VMI uid {uid[:8]}… to be deleted",
            self.describe,
        )

    @step("await a replacement VMI Running")
    def wait_replacement_running(
        self, request: RestartRequest, timeout: float | None = None
    ) -> Observation:
        """A Running VMI other than the one that ran before `request`."""
        __tracebackhide__ = True
        return wait_until(
            self.timeline,
            lambda: (vmi := self.running_vmi()) and vmi.uid != request.old_vmi_uid and vmi,
            self.restart_timeout if timeout is None else timeout,
            f"a Running VMI other than uid {request.old_vmi_uid[:8]}…",
            self.describe,
        )

    @step("await a restart loop")
    def wait_restart_loop(self, request: RestartRequest, timeout: float | None = None) -> str:
        """More than one new VMI for one request (the §7.6 row 12 loop); returns the finding."""
        __tracebackhide__ = True
        return wait_until(
            self.timeline,
            lambda: restart_loop(self, request),
            self.restart_timeout if timeout is None else timeout,
            f"a restart loop after the request {request.requested_at} (more than one new VMI; "
            "contract §7.6 row 12)",
            lambda: f"VMIs {self.vmi_uids_seen(request.seq_before)}; {self.describe()}",
        )

    @step("await the CR gone")
    def wait_gone(self, timeout: float | None = None) -> Observation:
        """The CR is deleted (returns its last state): the operator deprovisions (the VM goes,
        the …-aap finalizer is removed) and then drops its own finalizer (§9.5)."""
        __tracebackhide__ = True
        timeout = self.provision_timeout if timeout is None else timeout
        with waiting(f"instance {self.id} to be deleted", timeout):
            gone = self.gone_within(timeout)
        if gone is None:
            raise WaitTimeout(
                f"the CR was not removed {timeout:.0f} s after its deletion (contract §9.5: the "
                "operator deprovisions — the VM goes, the …-aap finalizer is removed — and then "
                f"drops its own finalizer); last seen: {self.describe()}"
            )
        return gone

    def gone_within(self, timeout: float) -> Observation | None:
        """The CR's deletion, once recorded within `timeout`; None otherwise. Records no step and
        shows no progress, so cleanup may call it off the test's thread."""
        return self.timeline.wait(
            lambda: (
                (obs := self.timeline.latest(self.profile.kind)) is not None
                and not obs.exists
                and obs
            ),
            timeout,
        )

    @step("await no VM or VMI left behind")
    def wait_no_orphans(self, timeout: float | None = None) -> None:
        """No VM or VMI labelled with this instance's CR name remains, in any namespace."""
        __tracebackhide__ = True
        timeout = self.provision_timeout if timeout is None else timeout
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
                    f"orphans {timeout:.0f} s after the ComputeInstance was deleted (contract "
                    "§9.5: deleting the instance removes its VM and VMI); last seen: "
                    + "; ".join(describe_object(o) for o in left())
                )
        finally:
            for watcher in watchers:
                watcher.stop()


__all__ = [
    "ComputeInstanceUnderTest",
    "HarnessContext",
    "InstanceSpec",
    "RestartRequest",
    "RestartResult",
    "WaitTimeout",
]
