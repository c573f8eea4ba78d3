"""Watches that feed a test's timeline: list, then watch, resume, re-list after 410 Gone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harness.clients.resources import Gone, KubeError, Resource, WatchHandle
from harness.clients.retries import RetryBudgetExhausted, is_transient, note_retry
from harness.testkit.timeline import Timeline, WatchFailed

if TYPE_CHECKING:  # loads the client library; report-only processes import this package
    from harness.clients.kubernetes_api import KubeClient

log = logging.getLogger("harness.testkit.watchers")


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
