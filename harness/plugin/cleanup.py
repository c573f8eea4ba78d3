"""A test's instances cleaned up, the wait for their deletion overlapped with the next test.

`begin_cleanup` undoes what the test arranged (annotations, refusal rules) and asks for the
deletion; `finish_cleanup` waits until the CR is gone and stops the instance's watches. For a
passing test the wait (the system under test finalizing) runs on a small thread pool while the
next test runs (`BackgroundCleanup`). The verdict still belongs to the test that made the
objects: `finished()` and `drain()` hand back each test's leaks, and the plugin reports them
against it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.clients.resources import instance_resource
from harness.testkit.descriptions import describe_instance

if TYPE_CHECKING:
    from harness.testkit.instance import ComputeInstanceUnderTest

log = logging.getLogger("harness.plugin.cleanup")


def begin_cleanup(instance: ComputeInstanceUnderTest, delete: bool = True) -> str | None:
    """Undo what the test arranged and ask for the deletion (`delete=False` keeps the objects
    for a person to look at); returns a leak description if the delete itself failed."""
    for undo in instance.undo_actions:
        try:
            undo()
        except Exception as error:  # the object may already be gone; cleanup goes on
            log.warning("undo during cleanup of %s failed: %r", instance.id, error)
    if not delete:
        return None
    try:
        if instance.id:
            instance.delete()
        elif instance.create_sent:
            _delete_unanswered_create(instance)
    except Exception as error:
        return f"deleting instance {instance.id or '(create interrupted)'} failed: {error}"
    return None


def _delete_unanswered_create(instance: ComputeInstanceUnderTest) -> None:
    """The create went out but its answer never came back (a SIGTERM interrupted the test in
    the middle of the call): the CR may exist without the harness knowing its id. Delete what
    carries this instance's run labels; the operator then removes its VM and VMI."""
    if not instance.labels:
        return
    kube, resource = instance.context.kube, instance_resource(instance.profile)
    namespace = instance.context.settings.namespace
    selector = ",".join(f"{key}={value}" for key, value in sorted(instance.labels.items()))
    items, _ = kube.list(resource, namespace, label_selector=selector)
    for item in items:
        kube.delete(resource, namespace, item["metadata"]["name"])


def finish_cleanup(
    instance: ComputeInstanceUnderTest, timeout: float, wait: bool = True
) -> str | None:
    """Wait until the CR is gone (if it was ever seen), then stop watching; returns a leak
    description. Safe off the test's thread: it records no steps and shows no progress."""
    try:
        seen = instance.timeline.latest(instance.profile.kind) is not None
        if wait and seen and instance.gone_within(timeout) is None:
            return (
                f"ComputeInstance for id {instance.id} still present {timeout:.0f} s "
                f"after Delete; {describe_instance(instance.cr_observation())}"
            )
        return None
    finally:
        instance.stop_watching()


@dataclass(frozen=True)
class CleanupVerdict:
    owner: Any  # whatever submitted the cleanup (the plugin passes the pytest item)
    leaks: list[str]


def finish_all(instances: Sequence[ComputeInstanceUnderTest], timeout: float) -> list[str]:
    """Wait for every instance's deletion (already requested); one leak description each."""
    leaks: list[str] = []
    for instance in instances:
        try:
            leak = finish_cleanup(instance, timeout)
        except Exception as error:  # a broken watch is a failed cleanup, not a crashed pool
            leak = f"waiting for instance {instance.id} to be deleted failed: {error!r}"
        if leak:
            leaks.append(leak)
    return leaks


class BackgroundCleanup:
    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cleanup")
        self._pending: list[tuple[Any, Future[list[str]]]] = []
        self._instances: list[ComputeInstanceUnderTest] = []
        self._lock = threading.Lock()

    def submit(
        self, owner: Any, instances: Sequence[ComputeInstanceUnderTest], timeout: float
    ) -> None:
        future = self._pool.submit(finish_all, list(instances), timeout)
        with self._lock:
            self._pending.append((owner, future))
            self._instances.extend(instances)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def finished(self) -> list[CleanupVerdict]:
        """The cleanups that have completed since the last call, leaky ones only."""
        with self._lock:
            done = [(owner, future) for owner, future in self._pending if future.done()]
            self._pending = [entry for entry in self._pending if not entry[1].done()]
        return [
            CleanupVerdict(owner, leaks) for owner, future in done if (leaks := future.result())
        ]

    def drain(self) -> list[CleanupVerdict]:
        """Wait for every cleanup (each is bounded by its own timeout), then stop the pool."""
        with self._lock:
            pending, self._pending = self._pending, []
        verdicts = [
            CleanupVerdict(owner, leaks) for owner, future in pending if (leaks := future.result())
        ]
        self._pool.shutdown(wait=True)
        return verdicts

    def abandon(self, reason: str) -> None:
        """The environment died: end every wait at once (they would wait out their timeouts
        on a dead API); what they would have found is not a verdict on the system under test."""
        with self._lock:
            instances, self._instances = self._instances, []
        for instance in instances:
            instance.timeline.record_failure(reason)
        self.drain()
