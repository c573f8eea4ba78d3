"""The session-end leak sweep of one pytest process.

After every test has cleaned up after itself, the sweep looks for what this process's part of
the run left: ComputeInstance CRs carrying its run and worker labels (or recorded by name in the
ledger), and the VMs and VMIs of those CRs in any namespace. Objects still going away are given
`grace` seconds (watch-based); whatever remains is a leak, reported and then deleted. Objects of
failing tests kept with --keep-on-failure are not leaks: they are listed with the command that
removes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import VM, VMI, Resource, instance_resource
from harness.contract.profiles import RUN_LABEL, TEST_LABEL, WORKER_LABEL, Profile
from harness.runner.labels import label_value
from harness.runner.ledger import RunLedger
from harness.testkit.timeline import Observation, Timeline
from harness.testkit.watchers import ResourceWatcher

log = logging.getLogger("harness.runner.sweep")


@dataclass(frozen=True)
class Leftover:
    kind: str
    namespace: str
    name: str
    test: str
    worker: str
    going: bool = field(default=False, compare=False)  # being deleted, or its CR is gone

    def as_json(self, **extra: Any) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "test": self.test,
            "worker": self.worker,
            **extra,
        }

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} (test {self.test})"


@dataclass(frozen=True)
class SweepResult:
    leaks: list[dict[str, Any]]
    kept: list[dict[str, Any]]


def delete_command(profile: Profile, namespace: str, name: str) -> str:
    """Removes a kept instance; the operator then removes its VM and VMI."""
    return f"kubectl delete {profile.plural}.{profile.group} -n {namespace} {name}"


class Sweep:
    def __init__(
        self, kube: KubeClient, profile: Profile, namespace: str, ledger: RunLedger
    ) -> None:
        self.kube = kube
        self.profile = profile
        self.namespace = namespace
        self.ledger = ledger
        self.instances = instance_resource(profile)
        self.timeline = Timeline()
        self._watchers: list[ResourceWatcher] = []

    def run(self, grace: float) -> SweepResult:
        run_selector = (
            f"{RUN_LABEL}={label_value(self.ledger.run_id)},"
            f"{WORKER_LABEL}={label_value(self.ledger.worker)}"
        )
        kept_tests = set(self.ledger.kept_test_labels().values())
        try:
            self._watch(self.instances, self.namespace, run_selector)
            # VMs and VMIs carry their CR's name; watched by the label's presence, matched here.
            self._watch(VM, None, self.profile.instance_name_label)
            self._watch(VMI, None, self.profile.instance_name_label)
            # What is already going away is given time; what nobody deletes is a leak at once.
            self.timeline.wait(
                lambda: not [item for item in self._leftovers(final=False) if item.going], grace
            )
            leftovers = self._leftovers(final=True)
            leaks = [item for item in leftovers if item.test not in kept_tests]
            kept = [item for item in leftovers if item.test in kept_tests]
            for leak in leaks:
                self._remove(leak)
            # Until they are gone, and the VMs/VMIs they take with them (some may appear only
            # now: the operator was still creating them).
            self.timeline.wait(
                lambda: not self._present(leaks) and not self._leftovers(final=False), grace
            )
            still_there = set(self._present(leaks, ask=True)) | set(self._leftovers(final=False))
        finally:
            for watcher in self._watchers:
                watcher.stop()
        late = [item for item in still_there if item not in leaks]
        return SweepResult(
            leaks=[leak.as_json(removed=leak not in still_there) for leak in leaks]
            + [item.as_json(removed=False) for item in late],
            kept=[
                item.as_json(command=delete_command(self.profile, item.namespace, item.name))
                for item in kept
                if item.kind == self.profile.kind
            ],
        )

    def _present(self, leftovers: list[Leftover], ask: bool = False) -> list[Leftover]:
        """Leftovers still there by the watches; with `ask`, CRs the watch cannot see (their
        labels are gone) are asked for by name."""
        current = {
            kind: self.timeline.current(kind) for kind in (self.profile.kind, VM.kind, VMI.kind)
        }
        seen_crs = {o.name for o in self.timeline.observations(self.profile.kind)}
        present = []
        for item in leftovers:
            if (item.namespace, item.name) in current[item.kind] or (
                ask
                and item.kind == self.profile.kind
                and item.name not in seen_crs
                and self._cr_exists(item.name)
            ):
                present.append(item)
        return present

    def _watch(self, resource: Resource, namespace: str | None, selector: str) -> None:
        watcher = ResourceWatcher(
            self.kube, resource, namespace, self.timeline, label_selector=selector
        )
        self._watchers.append(watcher.start())

    def _leftovers(self, final: bool) -> list[Leftover]:
        """What is left; while waiting (not `final`) without kept objects and without the
        GETs for CRs that lost their labels."""
        crs = dict(self.ledger.cr_names())
        for observation in self.timeline.observations(self.profile.kind):  # gone ones too
            crs.setdefault(observation.name, self._test_of(observation))
        kept = set(self.ledger.kept_test_labels().values())
        found: list[Leftover] = []
        present = self.timeline.current(self.profile.kind)
        for (namespace, name), observation in present.items():
            test = self._test_of(observation, crs.get(name))
            found.append(
                Leftover(
                    self.profile.kind,
                    namespace,
                    name,
                    test,
                    self.ledger.worker,
                    _deleting(observation),
                )
            )
        for name, test in self.ledger.cr_names().items() if final else ():
            if not any(item.name == name for item in found) and self._cr_exists(name):
                found.append(
                    Leftover(self.profile.kind, self.namespace, name, test, self.ledger.worker)
                )
        for kind in (VM.kind, VMI.kind):
            for (namespace, name), observation in self.timeline.current(kind).items():
                owner = _labels(observation).get(self.profile.instance_name_label, "")
                if owner in crs:
                    going = _deleting(observation) or owner not in {n for _, n in present}
                    found.append(
                        Leftover(kind, namespace, name, crs[owner], self.ledger.worker, going)
                    )
        return [item for item in found if final or item.test not in kept]

    def _test_of(self, observation: Observation, default: str | None = None) -> str:
        label = _labels(observation).get(TEST_LABEL)
        return self.ledger.test_of_label(label) if label else (default or "unknown")

    def _cr_exists(self, name: str) -> bool:
        # A CR that lost its labels is invisible to the watch; ask for it by name.
        try:
            return self.kube.get(self.instances, self.namespace, name) is not None
        except Exception as error:  # the sweep reports what it can; a failed GET is not a leak
            log.warning("sweep: GET %s %s failed: %r", self.profile.kind, name, error)
            return False

    def _remove(self, leftover: Leftover) -> None:
        resource = {self.profile.kind: self.instances, VM.kind: VM, VMI.kind: VMI}[leftover.kind]
        try:
            self.kube.delete(resource, leftover.namespace, leftover.name)
        except Exception as error:  # reported as not removed; the sweep goes on
            log.warning("sweep: deleting %s failed: %r", leftover.describe(), error)


def _deleting(observation: Observation) -> bool:
    return bool((observation.object.get("metadata") or {}).get("deletionTimestamp"))


def _labels(observation: Observation) -> dict[str, str]:
    return dict((observation.object.get("metadata") or {}).get("labels") or {})
