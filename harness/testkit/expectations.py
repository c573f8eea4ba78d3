"""Contract expectations: each `assert_*` judges what was recorded and owns its failure message.

A failure is one sentence in a user's words that names the clause of docs/contract.md it
enforces ("lastRestartedAt was 12:00:03Z, expected the requested 12:00:01Z (contract §7.4 …)"),
followed by the last state seen. Expectations read an `InstanceHistory` (the instance under test
is one), so each can be tried on a hand-made timeline; the few that ask the fulfillment API or
watch a quiet window take the instance itself. Condition expectations (`ExpectedCondition`)
carry type, status, reason, message and clause together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.contract.profiles import Profile
from harness.contract.timestamps import parse_rfc3339
from harness.testkit.history import InstanceHistory, RestartRequest, RestartResult, condition
from harness.testkit.invariants import generation_violations
from harness.testkit.progress import waiting
from harness.testkit.steps import step
from harness.testkit.timeline import Observation

if TYPE_CHECKING:  # the instance loads the client libraries; histories need none
    from harness.clients.drivers import Rejection
    from harness.testkit.instance import ComputeInstanceUnderTest


# --- conditions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedCondition:
    """A condition as the contract words it: type and status, then reason and message.

    `message` is exact; `message_prefix` (with `message_contains`) is for messages that end in
    text the contract does not fix, such as the API server's error."""

    type: str
    status: str
    reason: str
    clause: str
    message: str | None = None
    message_prefix: str | None = None
    message_contains: str | None = None

    def __str__(self) -> str:
        words = f"{self.type}={self.status}/{self.reason}"
        if self.message is not None:
            words += f" {self.message!r}"
        elif self.message_prefix is not None:
            words += f" {self.message_prefix!r}…"
        return words


def restart_initiated(profile: Profile, requested_at: str) -> ExpectedCondition:
    """The VMI was deleted: RestartInProgress=True, "Restart initiated at <request>"."""
    return ExpectedCondition(
        profile.conditions.restart_in_progress,
        "True",
        profile.restart.reason_in_progress,
        "§7.3 row 5",
        message=profile.restart.message_initiated.format(requested=requested_at),
    )


def restart_waiting_for_vmi(profile: Profile, requested_at: str) -> ExpectedCondition:
    """No VMI to delete: RestartInProgress=True, "Waiting for VMI to be created (…)"."""
    return ExpectedCondition(
        profile.conditions.restart_in_progress,
        "True",
        profile.restart.reason_in_progress,
        "§7.3 row 2",
        message=profile.restart.message_waiting_for_vmi.format(requested=requested_at),
    )


def restart_failed_no_vm_reference(profile: Profile) -> ExpectedCondition:
    """No VM reference yet: RestartFailed=True, NoVMReference."""
    return ExpectedCondition(
        profile.conditions.restart_failed,
        "True",
        profile.restart.reason_no_vm_reference,
        "§7.3 row 1",
        message=profile.restart.message_no_vm_reference,
    )


def restart_failed_vmi_deletion(profile: Profile, error_contains: str) -> ExpectedCondition:
    """The VMI delete was refused: RestartFailed=True, VMIDeletionFailed, carrying the error."""
    return ExpectedCondition(
        profile.conditions.restart_failed,
        "True",
        profile.restart.reason_vmi_deletion_failed,
        "§7.3 row 4",
        message_prefix=profile.restart.message_deletion_failed.format(error=""),
        message_contains=error_contains,
    )


def condition_mismatch(found: dict[str, Any] | None, expected: ExpectedCondition) -> str | None:
    """Why `found` is not `expected`, or None when it is."""
    if found is None:
        return f"{expected.type} is absent"
    for key, wanted in (("status", expected.status), ("reason", expected.reason)):
        if found.get(key) != wanted:
            return f"{expected.type} {key} was {found.get(key)!r}, expected {wanted!r}"
    message = str(found.get("message") or "")
    if expected.message is not None and message != expected.message:
        return f"{expected.type} message was {message!r}, expected {expected.message!r}"
    if expected.message_prefix is not None and not message.startswith(expected.message_prefix):
        return (
            f"{expected.type} message was {message!r}, expected it to start with "
            f"{expected.message_prefix!r}"
        )
    if expected.message_contains is not None and expected.message_contains not in message:
        return (
            f"{expected.type} message was {message!r}, expected it to carry "
            f"{expected.message_contains!r}"
        )
    return None


def assert_condition(found: dict[str, Any] | None, expected: ExpectedCondition) -> dict[str, Any]:
    """`found` is the expected condition in every word; returns it."""
    __tracebackhide__ = True
    mismatch = condition_mismatch(found, expected)
    assert mismatch is None, f"{mismatch} (contract {expected.clause}: {expected})"
    assert found is not None
    return found


@step("check: both restart conditions removed (§7.4)")
def assert_restart_conditions_removed(
    history: InstanceHistory, state: RestartResult | Observation
) -> None:
    """A completed restart leaves neither RestartInProgress nor RestartFailed (removed, not set
    False: an era C operator would set RestartInProgress False/AsExpected instead)."""
    __tracebackhide__ = True
    observation = state.completed if isinstance(state, RestartResult) else state
    types = history.profile.conditions
    for type_name in (types.restart_in_progress, types.restart_failed):
        found = observation.conditions.get(type_name)
        assert found is None, (
            f"{type_name} should be removed when the restart completes (contract §7.4), "
            f"found {found}"
        )


@step("check: the restart conditions carry the CR's generation (§5)")
def assert_observed_generations(history: InstanceHistory) -> None:
    """Every write of a restart condition carried observedGeneration = the generation of the CR
    the operator read (contract §5), not a stale or missing one."""
    __tracebackhide__ = True
    violations = generation_violations(history)
    assert not violations, violations[0]


# --- provisioning -------------------------------------------------------------------------


@step("check: the CR carries the instance's id, tenant and the operator's finalizer (§6, §7.1)")
def assert_cr_identifies_its_instance(history: InstanceHistory) -> None:
    """The CR carries the uuid label with the instance's id and the tenant annotation (§6), and
    the operator added its finalizer (§7.1 step 1)."""
    __tracebackhide__ = True
    profile, cr = history.profile, history.cr()
    assert cr is not None, f"the CR vanished; {history.describe()}"
    metadata = cr["metadata"]
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    assert labels.get(profile.uuid_label) == history.id, (
        f"CR {metadata['name']} should carry label {profile.uuid_label}={history.id} "
        f"(contract §6), has {labels}"
    )
    assert annotations.get(profile.tenant_annotation), (
        f"CR {metadata['name']} lacks annotation {profile.tenant_annotation} (contract §6); "
        "without it the operator never evaluates restarts"
    )
    assert profile.finalizer in (metadata.get("finalizers") or []), (
        f"the operator should have added finalizer {profile.finalizer} (contract §7.1 step 1); "
        f"finalizers: {metadata.get('finalizers')}"
    )


@step("check: the VM is labelled for its CR (§6)")
def assert_vm_labelled_for_its_cr(history: InstanceHistory) -> None:
    """The operator finds its VM by label `<prefix>computeinstance=<CR name>` (§6)."""
    __tracebackhide__ = True
    label = history.profile.instance_name_label
    vm = history.current_vm()
    assert vm is not None, f"no VirtualMachine {history.vm_namespace}/{history.vm_name} seen"
    labels = vm.metadata.get("labels") or {}
    assert labels.get(label) == history.cr_name, (
        f"VM {vm.name} should carry label {label}={history.cr_name} (contract §6: the operator "
        f"finds its VM by it), has {labels}"
    )


@step("check: the CR's spec is what was asked (§3)")
def assert_spec_as_asked(instance: ComputeInstanceUnderTest) -> None:
    """Under a profile with explicit VM fields, the CR holds the cores, memory, boot disk, image
    and run strategy that were asked for (§3)."""
    __tracebackhide__ = True
    if not instance.profile.explicit_spec_fields:
        return
    spec, asked = (instance.cr() or {}).get("spec") or {}, instance.spec
    stored = {
        "cores": spec.get("cores"),
        "memoryGiB": spec.get("memoryGiB"),
        "bootDisk.sizeGiB": (spec.get("bootDisk") or {}).get("sizeGiB"),
        "image.sourceRef": (spec.get("image") or {}).get("sourceRef"),
        "runStrategy": spec.get("runStrategy"),
    }
    wanted = {
        "cores": asked.cores,
        "memoryGiB": asked.memory_gib,
        "bootDisk.sizeGiB": asked.boot_disk_gib,
        "image.sourceRef": asked.image_source_ref,
        "runStrategy": asked.run_strategy,
    }
    assert stored == wanted, f"the CR spec {stored} differs from what was asked {wanted} (§3)"


@step("check: the API lists the instance in the running state (§10)")
def assert_api_shows_running(instance: ComputeInstanceUnderTest) -> None:
    """With `--via api`: List shows the id, and Get reports the state that mirrors the running
    phase (§10)."""
    __tracebackhide__ = True
    profile = instance.profile
    assert instance.api_lists_it() in (True, None), f"API List does not show {instance.id}"
    view = instance.api_view()
    if view is None:
        return
    wanted = profile.state_for_phase(profile.phases.running)
    assert view.id == instance.id, f"API Get for {instance.id} answered {view.id}"
    assert view.state == wanted, (
        f"API state should mirror phase {profile.phases.running} (contract §10), got "
        f"{view.state}, expected {wanted}"
    )


@step("check: the API no longer lists the instance (§9.2)")
def assert_api_does_not_list(instance: ComputeInstanceUnderTest) -> None:
    __tracebackhide__ = True
    assert instance.api_lists_it() in (False, None), (
        f"the API still lists the deleted instance {instance.id} (contract §9.2: the record is "
        "archived once its CR is gone)"
    )


# --- restarts -----------------------------------------------------------------------------


@step("check: one new VMI replaced the old, lastRestartedAt copied, conditions right (§7.3-7.4)")
def assert_clean_restart(
    history: InstanceHistory, result: RestartResult, waiting_for_vmi: bool = False
) -> None:
    """One accepted request: old VMI gone, exactly one new VMI created after the request,
    lastRestartedAt an exact copy, RestartInProgress seen and then removed (contract §7.3–7.4).

    `waiting_for_vmi`: no VMI existed when the operator acted (Halted VM, no VM yet), so the
    condition reads "Waiting for VMI to be created …" and nothing was deleted."""
    __tracebackhide__ = True
    request = result.request
    requested = request.requested_at
    in_progress = history.profile.conditions.restart_in_progress

    new_uid = result.new_vmi.uid
    if request.old_vmi_uid:
        deletion = history.vmi_deleted(request.old_vmi_uid)
        assert deletion is not None, (
            f"the VMI that ran before the request (uid {request.old_vmi_uid}) was never deleted "
            f"(contract §7.3); {history.describe()}"
        )
        first_new = min(o.seq for o in history.vmi_observations() if o.uid == new_uid)
        assert deletion.seq < first_new, (
            "the new VMI appeared before the old one was gone (contract §7.3: the operator "
            "deletes the VMI, KubeVirt then recreates it)"
        )
    assert new_uid != request.old_vmi_uid

    created = result.new_vmi.metadata["creationTimestamp"]
    assert parse_rfc3339(created) > request.moment, (
        f"the restart completed with a VMI created at {created}, not strictly after the request "
        f"{requested} (contract §7.4)"
    )
    new_uids = history.new_vmi_uids(request)
    assert new_uids == [new_uid], (
        f"expected exactly one new VMI for one request, saw UIDs {new_uids} (contract §7.2 "
        "step 2: no second deletion while a restart is in progress)"
    )
    assert result.last_restarted_at == requested, (
        f"lastRestartedAt was {result.last_restarted_at}, expected the requested {requested} "
        "(contract §7.4: an exact copy, not the VMI time or now)"
    )
    expected = (restart_waiting_for_vmi if waiting_for_vmi else restart_initiated)(
        history.profile, requested
    )
    seen = [
        c
        for _, c in history.conditions_seen(in_progress, request.seq_before)
        if c.get("status") == "True"
    ]
    assert seen, (
        f"{in_progress} never became True between the request and completion "
        f"(contract §7.3); {history.describe()}"
    )
    assert_condition(seen[0], expected)
    assert_observed_generations(history)
    assert_restart_conditions_removed(history, result)


@step("check: RestartFailed never appeared (§7.3)")
def assert_restart_failed_never_seen(history: InstanceHistory, since_seq: int = 0) -> None:
    __tracebackhide__ = True
    failed = history.profile.conditions.restart_failed
    seen = history.conditions_seen(failed, since_seq)
    assert not seen, (
        f"{failed} appeared where the contract has no failure: "
        f"{[c for _, c in seen][:3]} (contract §7.3)"
    )


@step("check: lastRestartedAt took exactly the values requested, in order (§7.2, §7.4)")
def assert_last_restarted_history(history: InstanceHistory, expected: list[str]) -> None:
    """The distinct values lastRestartedAt took are `expected`: one per completed request, each
    strictly newer than the one before (§7.2: only a strictly newer request restarts; §7.4)."""
    __tracebackhide__ = True
    values = history.last_restarted_history()
    moments = [parse_rfc3339(value) for value in values]
    assert moments == sorted(moments) and len(set(moments)) == len(moments), (
        f"lastRestartedAt went backwards or repeated: {values} (contract §7.2: only a strictly "
        "newer request restarts)"
    )
    assert values == expected, (
        f"lastRestartedAt took the values {values}, expected {expected} (contract §7.4: each "
        "completed request is copied once, exactly)"
    )


@step("check: lastRestartedAt is {expected}")
def assert_last_restarted_at(history: InstanceHistory, expected: str | None, clause: str) -> None:
    """lastRestartedAt is `expected` now; `clause` says why."""
    __tracebackhide__ = True
    value = history.status().get("lastRestartedAt")
    assert value == expected, f"lastRestartedAt is {value}, expected {expected} ({clause})"


@step("check: the API reports the same lastRestartedAt (§10)")
def assert_api_reports(instance: ComputeInstanceUnderTest, last_restarted_at: str) -> None:
    """With `--via api`, the API's view carries the same lastRestartedAt (contract §10)."""
    __tracebackhide__ = True
    view = instance.api_view()
    if view is None:
        return
    assert view.last_restarted_at == last_restarted_at, (
        f"API last_restarted_at was {view.last_restarted_at}, expected {last_restarted_at} "
        "(contract §10)"
    )


@step("check: one replacement VMI for one request (§7.2 step 2)")
def assert_one_replacement(
    history: InstanceHistory, request: RestartRequest, replacement: Observation
) -> None:
    """Since `request`, the only new VMI is `replacement`: the VMI was not deleted again while
    the restart was in progress."""
    __tracebackhide__ = True
    replacements = history.new_vmi_uids(request)
    assert replacements == [replacement.uid], (
        f"one request, one deletion: {len(replacements)} replacement VMIs appeared "
        f"({[uid[:8] for uid in replacements]}) — the VMI was deleted again while the restart "
        "was in progress (contract §7.2 step 2: while RestartInProgress is True only the "
        "completion check runs)"
    )


@step("check: at most one deletion for the request (§7.2 step 2)")
def assert_at_most_one_deletion(history: InstanceHistory, request: RestartRequest) -> None:
    """At most two VMIs since `request`: the one there was (or the first to run) and one
    replacement."""
    __tracebackhide__ = True
    uids = history.vmi_uids_seen(request.seq_before)
    assert len(uids) <= 2, (
        f"one request, at most one deletion: VMI UIDs seen {[uid[:8] for uid in uids]} "
        "(contract §7.2 step 2)"
    )


@step("check: VMI {uid} still runs")
def assert_running_vmi(history: InstanceHistory, uid: str, clause: str) -> None:
    """The VMI with `uid` is the one running now, never deleted; `clause` says why it must."""
    __tracebackhide__ = True
    running = history.running_vmi()
    deleted = history.vmi_deleted(uid)
    assert deleted is None and running is not None and running.uid == uid, (
        f"VMI uid {uid[:8]}… should still run ({clause}); {history.describe()}"
    )


@step("check: the replacement VMI predates the requested moment")
def assert_created_before(vmi: Observation, request: RestartRequest) -> None:
    """The scenario's premise for a future-dated request: the replacement was created before
    the requested moment, so it cannot complete the restart."""
    __tracebackhide__ = True
    created = vmi.metadata.get("creationTimestamp") or ""
    assert created and parse_rfc3339(created) <= request.moment, (
        f"the replacement VMI was created at {created}, after the future request "
        f"{request.requested_at}: this environment restarts slower than the future offset "
        "(HARNESS_RESTART_TIMEOUT sets it on a cluster)"
    )


@step("check: the request changes nothing (quiet window)")
def assert_no_restart(
    instance: ComputeInstanceUnderTest,
    since: RestartRequest,
    clause: str,
    window: float | None = None,
) -> None:
    """Watch a bounded quiet window (default `--quiet-window`) for any sign of a restart after
    `since` and fail the moment one shows: a VMI deleted or a new VMI UID, RestartInProgress
    turning True, lastRestartedAt changing. `clause` says why the request must change nothing.
    A bounded watch, not a sleep."""
    __tracebackhide__ = True
    window = instance.quiet_window if window is None else window
    in_progress = instance.profile.conditions.restart_in_progress
    last_before = since.last_restarted_before

    failed = instance.profile.conditions.restart_failed

    def sign() -> str | None:
        for observation in instance.vmi_observations(since.seq_before):
            if observation.deleting:
                return f"VMI uid {observation.uid[:8]}… was deleted"
            if observation.uid != since.old_vmi_uid and since.old_vmi_uid:
                return f"a new VMI uid {observation.uid[:8]}… appeared"
        for observation in instance.cr_observations(since.seq_before):
            status = observation.status
            if status.get("lastRestartedAt") != last_before:
                return (
                    f"lastRestartedAt changed from {last_before} to {status.get('lastRestartedAt')}"
                )
            for type_name in (in_progress, failed):
                found = condition(observation.object, type_name)
                if (
                    found
                    and found.get("status") == "True"
                    and not condition({"status": since.status_before}, type_name)
                ):
                    return f"{type_name} became True ({found.get('message')})"
        return None

    with waiting(f"a quiet window: no restart after the request {since.requested_at}", window):
        violation = instance.timeline.wait(sign, window)
    if violation:
        raise AssertionError(
            f"{clause}: the request {since.requested_at} should have changed nothing, but "
            f"{violation}; {instance.describe()}"
        )


@step("check: nothing of this instance changed (§7.7)")
def assert_untouched(history: InstanceHistory, since: RestartRequest) -> None:
    """Since `since`, the instance's VMI still runs and was never deleted, its VM kept its UID
    and spec, and its CR gained no restart condition and no new lastRestartedAt: another
    instance's restart did not reach it (contract §7.7)."""
    __tracebackhide__ = True
    clause = "contract §7.7: a restart changes no object of another instance"
    assert_running_vmi(history, since.old_vmi_uid, clause)
    before = [o for o in history.vm_observations() if o.seq <= since.seq_before and o.exists]
    vm = history.current_vm()
    assert before and vm is not None, f"no VirtualMachine seen ({clause}); {history.describe()}"
    assert (vm.uid, vm.spec) == (before[-1].uid, before[-1].spec), (
        f"VirtualMachine {vm.name} changed: uid {before[-1].uid[:8]}… -> {vm.uid[:8]}…, spec "
        f"{'unchanged' if vm.spec == before[-1].spec else 'changed'} ({clause})"
    )
    types = history.profile.conditions
    for observation in history.cr_observations(since.seq_before):
        if not observation.exists:
            continue
        status = observation.status
        shown = [
            c
            for t, c in observation.conditions.items()
            if t in (types.restart_in_progress, types.restart_failed)
        ]
        assert not shown and status.get("lastRestartedAt") == since.last_restarted_before, (
            f"ComputeInstance {observation.name} changed: conditions {shown}, lastRestartedAt "
            f"{status.get('lastRestartedAt')} ({clause})"
        )


@step("check: the delete path left the restart alone (§7.6 row 9)")
def assert_delete_path_left_the_restart_alone(
    history: InstanceHistory,
    request: RestartRequest,
    in_progress: dict[str, Any],
    since_seq: int,
) -> None:
    """In every CR state recorded after `since_seq` that carries a deletionTimestamp,
    RestartInProgress is as it was (`in_progress`: status, reason, message, observedGeneration
    and lastTransitionTime) and no restart completed: the delete path does not evaluate
    restarts."""
    __tracebackhide__ = True
    type_name = history.profile.conditions.restart_in_progress
    for observation in history.cr_observations(since_seq):
        if not observation.metadata.get("deletionTimestamp"):
            continue
        kept = observation.conditions.get(type_name)
        assert kept == in_progress, (
            f"the delete path must leave {type_name} as it was, every field of it (contract "
            f"§7.6 row 9): {in_progress} -> {kept}"
        )
        last = observation.status.get("lastRestartedAt")
        assert last == request.last_restarted_before, (
            f"a restart completed on a CR being deleted: lastRestartedAt {last} (contract §7.6 "
            "row 9: the delete path does not evaluate restarts)"
        )


# --- refused changes ----------------------------------------------------------------------


@step("check: the change was refused ({clause})")
def assert_refused(
    rejection: Rejection | None, via: str, clause: str, mentions: str | None = None
) -> Rejection:
    """The system under test refused the change: HTTP 422 from the API server on a direct CR
    change (`--via cr`), INVALID_ARGUMENT from the fulfillment API (`--via api`), with words
    that carry `mentions` (if given)."""
    __tracebackhide__ = True
    assert rejection is not None, f"the change was accepted ({clause}: it must be refused)"
    wanted = "422" if via == "cr" else "INVALID_ARGUMENT"
    assert rejection.code == wanted, (
        f"refused with {rejection.code}, expected {wanted} ({clause}); {rejection}"
    )
    assert mentions is None or mentions in rejection.message, (
        f"the refusal should say {mentions!r} ({clause}); it says {rejection.message!r}"
    )
    return rejection


@step("check: restartRequestedAt is {expected}")
def assert_restart_requested_at(
    history: InstanceHistory, expected: str | None, clause: str
) -> None:
    """The CR's spec.restartRequestedAt is `expected` now; `clause` says why."""
    __tracebackhide__ = True
    value = ((history.cr() or {}).get("spec") or {}).get("restartRequestedAt")
    assert value == expected, f"restartRequestedAt is {value}, expected {expected} ({clause})"


@step("check: the CR spec is unchanged")
def assert_spec_unchanged(history: InstanceHistory, before: dict[str, Any], clause: str) -> None:
    __tracebackhide__ = True
    spec = (history.cr() or {}).get("spec") or {}
    assert spec == before, f"the CR spec changed from {before} to {spec} ({clause})"


@step("check: the VM's runStrategy is {value}")
def assert_vm_run_strategy(history: InstanceHistory, value: str) -> None:
    """The CR's runStrategy reached KubeVirt: the VM's `spec.runStrategy` is `value` (§3)."""
    __tracebackhide__ = True
    vm = history.current_vm()
    assert vm is not None, f"no VirtualMachine seen; {history.describe()}"
    assert vm.spec.get("runStrategy") == value, (
        f"VM {vm.name} runStrategy is {vm.spec.get('runStrategy')!r}, expected {value!r} "
        "(contract §3: runStrategy is mutable and reaches the VM)"
    )
