"""Invariants of every recorded history, whatever the scenario: what a restart never touches,
the phase, and the restart conditions' bookkeeping.

Pure functions of an `InstanceHistory` and the actions the harness placed on its timeline
(`history.Action`). Each returns sentences naming the clause of docs/contract.md it enforces.
The plugin checks `invariant_violations` after every test; the restart wait fails at once on
`first_violation` (the rules that never depend on the order of two watches).

- what a restart leaves alone (§7.7): the VirtualMachine keeps its UID and spec, the
  `virtualMachineReference` does not change, one request deletes one VMI, only the instance's
  own VMI is deleted, and an instance nobody asked to restart shows no restart at all;
- the phase (§9.3, §15.5): never Failed, nor the API's FAILED, without a failure to explain it;
- the restart conditions' `observedGeneration` (§5): the generation of the CR the operator
  read when it wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from harness.contract.profiles import PRINTABLE_MAPPED
from harness.testkit.history import ActionKind, InstanceHistory
from harness.testkit.timeline import Observation

# What may make an instance's VMI go: a restart request, the harness deleting the VMI or the
# instance itself, a runStrategy that halts the VM.
VMI_DELETION_CAUSES = (
    ActionKind.REQUEST,
    ActionKind.DELETE_VMI,
    ActionKind.DELETE,
    ActionKind.RUN_STRATEGY,
)
# Within one restart, actions that let more than one VMI go (§7.6 rows 5 and 10, or the
# harness deleting the replacement itself).
MORE_DELETIONS = (
    ActionKind.REQUEST,
    ActionKind.DELETE_VMI,
    ActionKind.RUN_STRATEGY,
    ActionKind.REFUSE_STATUS,
)


def invariant_violations(history: InstanceHistory) -> list[str]:
    """Every invariant this history breaks, one sentence each."""
    violations: list[str] = []
    for rule in RULES:
        violations += rule(history)
    return list(dict.fromkeys(violations))


def first_violation(history: InstanceHistory) -> str | None:
    """The first break of a rule that a correct operator cannot appear to break because two
    watches deliver out of order (the VM, the CR's own history)."""
    for rule in FAIL_FAST:
        found = rule(history)
        if found:
            return found[0]
    return None


# --- what a restart leaves alone (§7.7) ----------------------------------------------------


def _deletion_requested(history: InstanceHistory) -> int | None:
    """The seq after which the instance is being deleted (the harness asked, or the CR carries
    a deletionTimestamp); None while it is not."""
    marks = [action.seq for action in history.actions_of(ActionKind.DELETE)]
    for observation in history.cr_observations():
        if observation.metadata.get("deletionTimestamp") or not observation.exists:
            marks.append(observation.seq - 1)
            break
    return min(marks) if marks else None


def _before_deletion(
    history: InstanceHistory, observations: list[Observation]
) -> Iterator[Observation]:
    end = _deletion_requested(history)
    for observation in observations:
        if end is not None and observation.seq > end:
            return
        yield observation


def vm_identity_violations(history: InstanceHistory) -> list[str]:
    """The VirtualMachine is never deleted or replaced while its instance is not being
    deleted."""
    first: Observation | None = None
    for observation in _before_deletion(history, history.vm_observations()):
        first = first or observation
        name = f"{observation.namespace}/{observation.name}"
        if observation.deleting:
            return [
                f"VirtualMachine {name} (uid {observation.uid[:8]}…) was deleted at "
                f"+{observation.elapsed:.1f} s while its instance was not being deleted "
                "(contract §7.7: a restart deletes the VMI, never the VirtualMachine, which "
                "keeps its UID)"
            ]
        if observation.uid != first.uid:
            return [
                f"VirtualMachine {name} was replaced: uid {first.uid[:8]}… became "
                f"{observation.uid[:8]}… at +{observation.elapsed:.1f} s (contract §7.7: the "
                "VirtualMachine keeps its UID across a restart)"
            ]
    return []


def _restart_window_start(history: InstanceHistory) -> int | None:
    """From when the VM must hold still: the first request or withdrawal, or the first
    Running VMI for an instance nobody asks to restart (a witness of the others' restarts)."""
    marks = [a.seq for a in history.actions_of(ActionKind.REQUEST, ActionKind.WITHDRAW)]
    running = next(
        (o for o in history.vmi_observations() if o.status.get("phase") == "Running"), None
    )
    if running is not None:
        marks.append(running.seq)
    return min(marks) if marks else None


def vm_spec_violations(history: InstanceHistory) -> list[str]:
    """From the first restart on, the VM's spec does not change; its run state only after the
    harness changed the CR's runStrategy."""
    start = _restart_window_start(history)
    if start is None:
        return []
    run_keys = set(history.profile.vm_running_field) | set(history.profile.vm_halted_field)
    states = [o for o in _before_deletion(history, history.vm_observations()) if o.exists]
    before = [o for o in states if o.seq <= start]
    baseline = before[-1] if before else next(iter(states), None)
    if baseline is None:
        return []
    run_changes = history.actions_of(ActionKind.RUN_STRATEGY)
    core = _without(baseline.spec, run_keys)
    previous = baseline
    for observation in states:
        if observation.seq <= baseline.seq:
            continue
        changed = _differences(core, _without(observation.spec, run_keys))
        if changed:
            return [
                f"VirtualMachine {observation.namespace}/{observation.name} spec changed at "
                f"+{observation.elapsed:.1f} s ({', '.join(changed[:4])}) (contract §7.7: a "
                "restart deletes the VMI and leaves the VirtualMachine's spec as it was)"
            ]
        run = _differences(_only(previous.spec, run_keys), _only(observation.spec, run_keys))
        if run and not any(action.seq < observation.seq for action in run_changes):
            return [
                f"VirtualMachine {observation.namespace}/{observation.name} run state changed "
                f"({', '.join(run)}) at +{observation.elapsed:.1f} s though nobody changed the "
                "CR's runStrategy (contract §7.7: a restart deletes the VMI; it does not halt "
                "or start the VirtualMachine)"
            ]
        previous = observation
    return []


def reference_violations(history: InstanceHistory) -> list[str]:
    """Once set, `status.virtualMachineReference` neither changes nor disappears."""
    first: dict[str, Any] | None = None
    for observation in _before_deletion(history, history.cr_observations()):
        if not observation.exists:
            continue
        reference = observation.status.get("virtualMachineReference") or None
        if first is None:
            first = reference
            continue
        if reference != first:
            return [
                f"status.virtualMachineReference changed from {_reference(first)} to "
                f"{_reference(reference)} at +{observation.elapsed:.1f} s (contract §7.7: the "
                "reference names the VM the operator found by label, and a restart does not "
                "change it)"
            ]
    return []


def vmi_deletion_violations(history: InstanceHistory) -> list[str]:
    """Every VMI of the instance that went had a cause (a request, the harness deleting it or
    the instance, a halting runStrategy), and one completed request deleted at most one."""
    causes = history.actions_of(*VMI_DELETION_CAUSES)
    violations = []
    deleted = _first_deletions(history)
    for uid, observation in deleted.items():
        if not any(action.seq < observation.seq for action in causes):
            violations.append(
                f"VMI {observation.namespace}/{observation.name} (uid {uid[:8]}…) was deleted "
                f"at +{observation.elapsed:.1f} s though nothing asked for it: no restart of "
                "this instance was requested (contract §7.7: a restart deletes only its own "
                "instance's VMI)"
            )
    for action in history.actions_of(ActionKind.REQUEST):
        if not action.value:
            continue
        done = next(
            (
                o
                for o in history.cr_observations(action.seq)
                if o.exists and o.status.get("lastRestartedAt") == action.value
            ),
            None,
        )
        if done is None:
            continue
        others = [
            other
            for other in history.actions
            if other is not action
            and other.kind in MORE_DELETIONS
            and (action.seq <= other.seq < done.seq or other.kind is ActionKind.REFUSE_STATUS)
        ]
        if others:
            continue
        within = [uid for uid, o in deleted.items() if action.seq < o.seq <= done.seq]
        if len(within) > 1:
            violations.append(
                f"the restart requested at {action.value} deleted {len(within)} VMIs "
                f"({', '.join(uid[:8] + '…' for uid in within)}) before it completed "
                "(contract §7.7: one restart deletes exactly one VMI; §7.2 step 2)"
            )
    return violations


def unrequested_restart_violations(history: InstanceHistory) -> list[str]:
    """An instance nobody asked to restart shows no restart condition and no lastRestartedAt:
    another instance's restart must not reach it."""
    if history.actions_of(ActionKind.REQUEST, ActionKind.WITHDRAW):
        return []
    types = history.profile.conditions
    for observation in history.cr_observations():
        if not observation.exists:
            continue
        status = observation.status
        shown = [
            t
            for t in (types.restart_in_progress, types.restart_failed)
            if t in status_types(status)
        ]
        if shown or status.get("lastRestartedAt"):
            what = ", ".join(shown) or f"lastRestartedAt {status.get('lastRestartedAt')}"
            return [
                f"ComputeInstance {observation.name} shows {what} at "
                f"+{observation.elapsed:.1f} s though no restart of it was requested (contract "
                "§7.7: a restart changes no object of another instance; §7.2 step 1)"
            ]
    return []


def status_types(status: dict[str, Any]) -> set[str]:
    return {str(item.get("type")) for item in status.get("conditions") or []}


def _first_deletions(history: InstanceHistory) -> dict[str, Observation]:
    """Each VMI UID of the instance that went, with the first observation showing it going."""
    deleted: dict[str, Observation] = {}
    for observation in history.vmi_observations():
        if observation.deleting and observation.uid not in deleted:
            deleted[observation.uid] = observation
    return deleted


# --- the phase (§9.3, §15.5) --------------------------------------------------------------


def phase_violations(history: InstanceHistory) -> list[str]:
    """Phase Failed (API FAILED) only with a failure to explain it: RestartFailed=True, a
    failed provision job, or a VM printableStatus §9.3 maps to Failed."""
    profile = history.profile
    failed = profile.phases.failed
    vm_failed = any(
        str(o.status.get("printableStatus") or "") not in PRINTABLE_MAPPED
        for o in history.vm_observations()
        if o.exists
    )
    cr_failed = False
    for observation in history.cr_observations():
        if not observation.exists or observation.status.get("phase") != failed:
            continue
        cr_failed = True
        if vm_failed or _failure_condition(history, observation) or _failed_job(observation):
            continue
        return [
            f"phase {failed} at +{observation.elapsed:.1f} s with no failure to explain it: "
            f"{profile.conditions.restart_failed} is not True, no provision job failed and the "
            "VM's printableStatus is one §9.3 maps to another phase (contract §9.3: the phase "
            "follows the VM; §15.5: a restart passes through Starting or Progressing, never "
            "Failed)"
        ]
    api_failed = profile.state_for_phase(failed)
    api_restart_failed = profile.condition_type_name(profile.conditions.restart_failed)
    for call in history.timeline.calls():
        for answer in call.answered:
            if answer.id != history.id or answer.state != api_failed:
                continue
            if cr_failed or answer.conditions.get(api_restart_failed or "") == (
                "CONDITION_STATUS_TRUE"
            ):
                continue
            return [
                f"the API's {call.method} answered state {api_failed} at +{call.elapsed:.1f} s "
                f"while the CR was never {failed} and {api_restart_failed} is not TRUE "
                "(contract §10: the API mirrors the CR's phase; §9.3)"
            ]
    return []


def _failure_condition(history: InstanceHistory, observation: Observation) -> bool:
    found = observation.conditions.get(history.profile.conditions.restart_failed)
    return bool(found and found.get("status") == "True")


def _failed_job(observation: Observation) -> bool:
    jobs = [j for j in observation.status.get("jobs") or [] if j.get("type") == "provision"]
    return bool(jobs) and jobs[-1].get("state") == "Failed"


# --- observedGeneration of the restart conditions (§5) --------------------------------------


def generation_violations(history: InstanceHistory) -> list[str]:
    """Each time a restart condition is written, its observedGeneration is the generation of
    the CR the operator read: the CR's generation then, or one the spec passed through since
    the previous status write (the write may land after a newer spec)."""
    types = history.profile.conditions
    watched = (types.restart_in_progress, types.restart_failed)
    previous: Observation | None = None
    since_status: set[int] = set()
    for observation in history.cr_observations():
        if not observation.exists:
            continue
        generation = int(observation.metadata.get("generation") or 0)
        if previous is None:
            # The first state may be a replay of older writes: judged from the next write on.
            previous = observation
            continue
        if observation.status == previous.status:
            since_status.add(generation)
            previous = observation
            continue
        for type_name in watched:
            found = observation.conditions.get(type_name)
            before = previous.conditions.get(type_name)
            if found is None or found == before:
                continue
            observed = found.get("observedGeneration")
            allowed = since_status | {generation}
            if not isinstance(observed, int) or observed not in allowed:
                return [
                    f"{type_name} was written with observedGeneration {observed!r} at "
                    f"+{observation.elapsed:.1f} s while the CR's generation was {generation} "
                    f"(contract §5: the restart conditions carry observedGeneration equal to "
                    "the CR's generation)"
                ]
        since_status = set()
        previous = observation
    return []


def _without(spec: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in keys}


def _only(spec: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k in keys}


def _differences(before: Any, after: Any, path: str = "spec") -> list[str]:
    """Dotted paths where two JSON values differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            found += _differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    return [] if before == after else [path]


def _reference(reference: dict[str, Any] | None) -> str:
    if not reference:
        return "<none>"
    return f"{reference.get('namespace')}/{reference.get('kubeVirtVirtualMachineName')}"


Rule = Callable[[InstanceHistory], list[str]]
RULES: tuple[Rule, ...] = (
    vm_identity_violations,
    vm_spec_violations,
    reference_violations,
    vmi_deletion_violations,
    unrequested_restart_violations,
    phase_violations,
    generation_violations,
)
FAIL_FAST: tuple[Rule, ...] = (
    vm_identity_violations,
    vm_spec_violations,
    reference_violations,
    phase_violations,
    generation_violations,
)
