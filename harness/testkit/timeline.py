"""The per-test timeline: every change the harness watched, in order, with server versions.

Watchers (one thread per watched resource and selector) list, then watch from the list's
resourceVersion, and append every event to a `Timeline`. Waits block on the timeline's
condition variable instead of polling, and assertions read the whole history afterwards
("RestartInProgress appeared", "RestartFailed never did"), not just the end state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.clients.resources import Gone, KubeError, Resource, WatchHandle
from harness.clients.retries import RetryBudgetExhausted, is_transient, note_retry

if TYPE_CHECKING:  # both load client libraries; report-only processes import this module
    from harness.clients.fulfillment_api import ApiCall
    from harness.clients.kubernetes_api import KubeClient

log = logging.getLogger("harness.testkit.timeline")


@dataclass(frozen=True)
class Observation:
    seq: int
    wall_time: float
    elapsed: float
    kind: str
    event: str  # ADDED, MODIFIED, DELETED (LISTED for the initial list)
    namespace: str
    name: str
    uid: str
    resource_version: str
    object: dict[str, Any]

    @property
    def exists(self) -> bool:
        return self.event != "DELETED"


@dataclass(frozen=True)
class ApiCallRecord:
    seq: int
    wall_time: float
    elapsed: float
    method: str
    code: str
    duration: float
    request: str


class Timeline:
    """Ordered observations of one test; thread-safe; waits are woken by new events."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._observations: list[Observation] = []
        self._calls: list[ApiCallRecord] = []
        self._seq = 0
        self._failures: list[str] = []
        self.started = time.monotonic()
        self.started_wall = time.time()

    # --- writing --------------------------------------------------------------------------

    def record(self, kind: str, event: str, obj: dict[str, Any]) -> None:
        metadata = obj.get("metadata", {})
        with self._condition:
            self._seq += 1
            self._observations.append(
                Observation(
                    seq=self._seq,
                    wall_time=time.time(),
                    elapsed=time.monotonic() - self.started,
                    kind=kind,
                    event=event,
                    namespace=metadata.get("namespace", ""),
                    name=metadata.get("name", ""),
                    uid=metadata.get("uid", ""),
                    resource_version=metadata.get("resourceVersion", ""),
                    object=obj,
                )
            )
            self._condition.notify_all()

    def record_call(self, call: ApiCall) -> None:
        with self._condition:
            self._seq += 1
            self._calls.append(
                ApiCallRecord(
                    self._seq,
                    call.started,
                    call.started - self.started_wall,
                    call.method,
                    call.code,
                    call.duration,
                    call.request,
                )
            )
            self._condition.notify_all()

    def record_failure(self, message: str) -> None:
        """A watcher could not go on; waits raise it instead of timing out silently."""
        with self._condition:
            self._failures.append(message)
            self._condition.notify_all()

    # --- reading --------------------------------------------------------------------------

    def observations(self, kind: str | None = None) -> list[Observation]:
        with self._condition:
            return [o for o in self._observations if kind is None or o.kind == kind]

    def calls(self) -> list[ApiCallRecord]:
        with self._condition:
            return list(self._calls)

    def current(self, kind: str) -> dict[tuple[str, str], Observation]:
        """Latest observation per object (by uid) of `kind`, deleted ones excluded."""
        latest: dict[str, Observation] = {}
        for observation in self.observations(kind):
            latest[observation.uid] = observation
        return {(o.namespace, o.name): o for o in latest.values() if o.exists}

    def latest(self, kind: str, name: str | None = None) -> Observation | None:
        for observation in reversed(self.observations(kind)):
            if name is None or observation.name == name:
                return observation
        return None

    def latest_by_uid(self, uid: str) -> Observation | None:
        for observation in reversed(self.observations()):
            if observation.uid == uid:
                return observation
        return None

    def wait(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Block until `predicate()` returns something truthy; None on timeout.

        Raises RuntimeError when a watcher failed, so a broken watch reads as that, not as
        a slow system under test."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                if self._failures:
                    raise WatchFailed(self._failures[0])
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)

    def dump_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            for observation in self.observations():
                handle.write(
                    json.dumps(
                        {
                            "seq": observation.seq,
                            "time": observation.wall_time,
                            "elapsed": round(observation.elapsed, 4),
                            "kind": observation.kind,
                            "event": observation.event,
                            "namespace": observation.namespace,
                            "name": observation.name,
                            "uid": observation.uid,
                            "resourceVersion": observation.resource_version,
                            "object": observation.object,
                        }
                    )
                    + "\n"
                )
            for call in self.calls():
                handle.write(
                    json.dumps(
                        {
                            "seq": call.seq,
                            "time": call.wall_time,
                            "elapsed": round(call.elapsed, 4),
                            "kind": "ApiCall",
                            "method": call.method,
                            "code": call.code,
                            "duration": round(call.duration, 4),
                            "request": call.request,
                        }
                    )
                    + "\n"
                )


class WatchFailed(RuntimeError):
    pass


def _not_after(version: str, since: str) -> bool:
    """Whether resourceVersion `version` is no later than `since`. Versions are opaque to
    clients, but the API server and etcd number them; anything else counts as later."""
    return version.isdecimal() and since.isdecimal() and int(version) <= int(since)


class ResourceWatcher:
    """List, then watch `resource` in `namespace` with selectors, feeding a Timeline.

    Given `since` (a resourceVersion read before the objects of interest were written), it
    watches from there instead, so the server replays every change made in the meantime: a
    state that came and went before the watch began is still seen. Either way `start()`
    returns once the timeline holds every object's current version. Resumes from the last
    seen resourceVersion after a dropped stream, and re-lists after 410 Gone (the server no
    longer has those changes), emitting the differences, so no change is missed."""

    def __init__(
        self,
        kube: KubeClient,
        resource: Resource,
        namespace: str | None,
        timeline: Timeline,
        label_selector: str | None = None,
        field_selector: str | None = None,
        optional: bool = False,
        since: str = "",
    ) -> None:
        self.kube = kube
        self.since = since
        # An optional watch (virt-launcher pods, which a cluster may not let us see) that fails
        # just stops; it never fails the waits.
        self.optional = optional
        self.resource = resource
        self.namespace = namespace
        self.timeline = timeline
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._stop = threading.Event()
        self._handle = WatchHandle()
        self._synced = threading.Event()
        self._known: dict[str, str] = {}  # uid -> resourceVersion of objects currently present
        self._latest: dict[str, str] = {}  # uid -> last resourceVersion recorded, deletions too
        self._lock = threading.Lock()  # _known, _latest and recording stay in step
        self._thread = threading.Thread(
            target=self._run, name=f"watch-{resource.plural}-{namespace or 'all'}", daemon=True
        )

    def start(self, timeout: float = 30.0) -> ResourceWatcher:
        deadline = time.monotonic() + timeout
        self._thread.start()
        if not self._synced.wait(timeout) or (
            self.since and not self._catch_up(deadline - time.monotonic())
        ):
            raise WatchFailed(
                f"could not start watching {self.resource.plural} in {self.namespace} "
                f"within {timeout:.0f} s"
            )
        return self

    def _catch_up(self, timeout: float) -> bool:
        """Wait until the replay from `since` has reached every object's current version (a
        LIST taken now, after the watch opened, so the watch delivers each listed version)."""
        try:
            items, _ = self.kube.list(
                self.resource, self.namespace, self.label_selector, self.field_selector
            )
        except Exception as error:  # the watch thread meets the same error and reports it
            log.info("list to catch up %s failed: %r", self.resource.plural, error)
            return True
        awaited: list[tuple[str, str]] = []
        for item in items:
            metadata = item.get("metadata", {})
            uid, version = metadata.get("uid", ""), metadata.get("resourceVersion", "")
            if _not_after(version, self.since):  # unchanged since then: nothing to replay
                self._record_unchanged(item, uid, version)
            else:
                awaited.append((uid, version))

        def reached(uid: str, version: str) -> bool:
            latest = self._latest.get(uid)
            return latest is not None and (latest == version or _not_after(version, latest))

        def caught_up() -> bool:
            return all(reached(*v) for v in awaited) or not self._thread.is_alive()

        try:
            return bool(self.timeline.wait(caught_up, max(timeout, 0.0)))
        except WatchFailed:  # another watcher failed; the test's waits will say so
            return True

    def _record_unchanged(self, item: dict[str, Any], uid: str, version: str) -> None:
        with self._lock:
            if uid not in self._latest:
                self._known[uid] = self._latest[uid] = version
                self.timeline.record(self.resource.kind, "LISTED", item)

    def stop(self) -> None:
        self._stop.set()
        self._handle.stop()
        self._thread.join(timeout=5)

    def _relist(self) -> str:
        items, resource_version = self.kube.list(
            self.resource, self.namespace, self.label_selector, self.field_selector
        )
        with self._lock:
            present: dict[str, str] = {}
            for item in items:
                metadata = item.get("metadata", {})
                uid, rv = metadata.get("uid", ""), metadata.get("resourceVersion", "")
                present[uid] = rv
                self._latest[uid] = rv
                if self._known.get(uid) != rv:
                    event = (
                        "LISTED"
                        if not self._synced.is_set()
                        else ("MODIFIED" if uid in self._known else "ADDED")
                    )
                    self.timeline.record(self.resource.kind, event, item)
            for uid in set(self._known) - set(present):
                self._latest[uid] = resource_version
                gone = self.timeline.latest_by_uid(uid)
                self.timeline.record(
                    self.resource.kind,
                    "DELETED",
                    gone.object if gone else {"metadata": {"uid": uid}},
                )
            self._known = present
        self._synced.set()
        return resource_version

    def _events(self, resource_version: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for event in self.kube.watch(
            self.resource,
            self.namespace,
            resource_version,
            self.label_selector,
            self.field_selector,
            handle=self._handle,
            on_open=self._synced.set,
        ):
            yield event.type, event.object

    def _run(self) -> None:
        backoff = 0.05
        resource_version = self.since
        while not self._stop.is_set():
            try:
                if not resource_version:
                    resource_version = self._relist()
                for event_type, obj in self._events(resource_version):
                    resource_version = obj.get("metadata", {}).get(
                        "resourceVersion", resource_version
                    )
                    if event_type == "BOOKMARK":
                        continue
                    uid = obj.get("metadata", {}).get("uid", "")
                    with self._lock:
                        if event_type == "DELETED":
                            self._known.pop(uid, None)
                        else:
                            self._known[uid] = resource_version
                        self._latest[uid] = resource_version
                        self.timeline.record(self.resource.kind, event_type, obj)
                backoff = 0.05
            except Gone:
                resource_version = ""
            except Exception as error:
                if self._stop.is_set():
                    return
                if is_transient(error):
                    try:
                        note_retry(
                            f"watch of {self.resource.plural} dropped ({error!r}); "
                            f"resuming from resourceVersion {resource_version or '(list)'}"
                        )
                    except RetryBudgetExhausted as exhausted:
                        self.timeline.record_failure(str(exhausted))
                        self._synced.set()
                        return
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                message = f"watch of {self.resource.plural} in {self.namespace} failed: {error!r}"
                if isinstance(error, KubeError):
                    message = str(error)
                if self.optional:
                    log.info("optional %s; going on without it", message)
                else:
                    self.timeline.record_failure(message)
                self._synced.set()
                return
