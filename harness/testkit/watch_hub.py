"""Shared watches: one watch per kind and namespace, feeding every test's timeline.

An instance under test follows its ComputeInstance, VM and VMI. Watched privately, each instance
costs three watch connections (and three threads); dozens of tests in flight would cost the API
server a hundred connections that all read the same events. A `WatchHub` keeps one stream per
(resource, namespace), started from a resourceVersion read when the hub was made, and hands
each event to the subscriptions whose selector matches, in the stream's thread, straight into
their timelines (no extra hop: detection latency is a private watch's).

A subscription behaves as a private `ResourceWatcher` started from `since` does: every change
after `since` is replayed to it (the stream keeps recent events), an object that stops matching
is DELETED for it, and `start()` returns once its timeline holds every matching object's current
version. What the hub cannot serve — a selector it does not evaluate, a `since` older than what
the stream still holds, no `since` at all — gets a private watcher, which is always correct.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.clients.resources import Gone, KubeError, Resource, WatchHandle
from harness.clients.retries import (
    LEDGER,
    RetryBudgetExhausted,
    RetryLedger,
    is_transient,
    note_retry,
)
from harness.testkit.timeline import Timeline, WatchFailed
from harness.testkit.watchers import ResourceWatcher

if TYPE_CHECKING:  # loads the client library; report-only processes import this package
    from harness.clients.kubernetes_api import KubeClient

log = logging.getLogger("harness.testkit.watch_hub")

HISTORY_SECONDS = 900.0  # how far back a new subscription can be replayed


def _version(text: str) -> int | None:
    return int(text) if text.isdecimal() else None


@dataclass(frozen=True)
class Selector:
    """Equality label and field selectors (`a=b,c==d`, `metadata.name=x`), which the harness
    uses; anything else is left to the server (a private watch)."""

    labels: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, label_selector: str | None, field_selector: str | None) -> Selector | None:
        labels = _equalities(label_selector)
        fields = _equalities(field_selector)
        if labels is None or fields is None:
            return None
        if any(key not in ("metadata.name", "metadata.namespace") for key, _ in fields):
            return None
        return cls(labels, fields)

    def matches(self, obj: dict[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        carried = metadata.get("labels") or {}
        if any(carried.get(key) != value for key, value in self.labels):
            return False
        return all(metadata.get(key.partition(".")[2]) == value for key, value in self.fields)


def _equalities(text: str | None) -> tuple[tuple[str, str], ...] | None:
    if not text:
        return ()
    found = []
    for term in text.split(","):
        key, separator, value = term.strip().replace("==", "=").partition("=")
        if not separator or not key or "!" in key or any(c in value for c in "=!() "):
            return None
        found.append((key.strip(), value.strip()))
    return tuple(found)


@dataclass(frozen=True)
class _Event:
    version: int
    type: str
    object: dict[str, Any]
    at: float


class Subscription:
    """One timeline's share of a stream: what a private watcher would have delivered."""

    def __init__(
        self, stream: _Stream, timeline: Timeline, selector: Selector, since: int, optional: bool
    ) -> None:
        self.stream = stream
        self.timeline = timeline
        self.selector = selector
        self.since = since
        self.optional = optional
        self._present: set[str] = set()  # uids of matching objects it was told exist

    def offer(self, event_type: str, obj: dict[str, Any], version: int) -> None:
        """Called by the stream, under its lock, for every event."""
        if version <= self.since:  # before its start: a watch from `since` does not see it
            return
        uid = (obj.get("metadata") or {}).get("uid", "")
        kind = self.stream.resource.kind
        if not self.selector.matches(obj):
            if uid in self._present:  # no longer matches: a selecting watch says DELETED
                self._present.discard(uid)
                self.timeline.record(kind, "DELETED", obj)
            return
        if event_type == "DELETED":
            self._present.discard(uid)
        else:
            if uid not in self._present and event_type == "MODIFIED":
                event_type = "ADDED"  # new to this selector
            self._present.add(uid)
        self.timeline.record(kind, event_type, obj)

    def failed(self, message: str) -> None:
        if not self.optional:
            self.timeline.record_failure(message)

    def start(self, timeout: float = 30.0) -> Subscription:
        """Return once the timeline holds every matching object's current version (a LIST
        taken now; what changed since `since` arrives through the stream)."""
        stream = self.stream
        try:
            items, _ = stream.kube.list(
                stream.resource, stream.namespace, *stream.server_selectors(self)
            )
        except Exception as error:  # the stream meets the same trouble and reports it
            log.info("list to catch up %s failed: %r", stream.resource.plural, error)
            return self
        awaited: list[tuple[str, int]] = []
        for item in items:
            metadata = item.get("metadata") or {}
            uid, version = metadata.get("uid", ""), _version(metadata.get("resourceVersion", ""))
            if version is not None and version <= self.since:
                stream.unchanged(self, uid, item)
            elif version is not None:
                awaited.append((uid, version))
        try:
            caught_up = self.timeline.wait(lambda: stream.reached(awaited), timeout)
        except WatchFailed:  # the test's waits say so
            return self
        if not caught_up:
            raise WatchFailed(
                f"could not start watching {stream.resource.plural} in {stream.namespace} "
                f"within {timeout:.0f} s"
            )
        return self

    def record_unchanged(self, uid: str, item: dict[str, Any]) -> None:
        if uid not in self._present:
            self._present.add(uid)
            self.timeline.record(self.stream.resource.kind, "LISTED", item)

    def stop(self) -> None:
        self.stream.unsubscribe(self)


class _Stream:
    """One watch of a resource in a namespace, from `start`, and the events it holds."""

    def __init__(
        self, kube: KubeClient, resource: Resource, namespace: str, start: int, history: float
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.namespace = namespace
        self.floor = start  # every event after this version is held (or was pruned: floor moves)
        self.history = history
        self._events: collections.deque[_Event] = collections.deque()
        self._subscriptions: list[Subscription] = []
        self._latest: dict[str, int] = {}  # uid -> last version delivered, deletions too
        self._known: dict[str, dict[str, Any]] = {}  # uid -> object, present ones
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._stop = threading.Event()
        self._handle = WatchHandle()
        self._ledger = RetryLedger()
        self._thread = threading.Thread(
            target=self._run, name=f"hub-{resource.plural}-{namespace}", daemon=True
        )
        self._thread.start()

    def server_selectors(self, subscription: Subscription) -> tuple[str | None, str | None]:
        labels = ",".join(f"{k}={v}" for k, v in subscription.selector.labels) or None
        fields = ",".join(f"{k}={v}" for k, v in subscription.selector.fields) or None
        return labels, fields

    def subscribe(
        self, timeline: Timeline, selector: Selector, since: int, optional: bool
    ) -> Subscription | None:
        """Replay what matches after `since`, then follow; None when the stream cannot (it no
        longer holds everything after `since`, or it failed)."""
        subscription = Subscription(self, timeline, selector, since, optional)
        with self._lock:
            if self._failure is not None or since < self.floor:
                return None
            for event in self._events:
                subscription.offer(event.type, event.object, event.version)
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def unchanged(self, subscription: Subscription, uid: str, item: dict[str, Any]) -> None:
        with self._lock:
            subscription.record_unchanged(uid, item)

    def reached(self, awaited: list[tuple[str, int]]) -> bool:
        """Whether the stream has delivered these versions. Called under a timeline's lock, so
        it takes no lock of the stream's (which delivers into timelines under its own)."""
        if not self._thread.is_alive():
            return True
        return all(self._latest.get(uid, -1) >= version for uid, version in awaited)

    def stop(self) -> None:
        self._stop.set()
        self._handle.stop()
        self._thread.join(timeout=5)

    def _deliver(self, event_type: str, obj: dict[str, Any], version: int) -> None:
        uid = (obj.get("metadata") or {}).get("uid", "")
        now = time.monotonic()
        with self._lock:
            self._latest[uid] = version
            if event_type == "DELETED":
                self._known.pop(uid, None)
            else:
                self._known[uid] = obj
            self._events.append(_Event(version, event_type, obj, now))
            while self._events and now - self._events[0].at > self.history:
                self.floor = self._events.popleft().version
            for subscription in self._subscriptions:
                subscription.offer(event_type, obj, version)

    def _relist(self) -> int:
        """After 410 Gone: list, and deliver the differences as events."""
        items, version_text = self.kube.list(self.resource, self.namespace)
        version = _version(version_text) or 0
        present = {}
        for item in items:
            metadata = item.get("metadata") or {}
            uid = metadata.get("uid", "")
            present[uid] = item
            item_version = _version(metadata.get("resourceVersion", "")) or version
            known = self._known.get(uid)
            if known is None:
                self._deliver("ADDED", item, item_version)
            elif known.get("metadata", {}).get("resourceVersion") != metadata.get(
                "resourceVersion"
            ):
                self._deliver("MODIFIED", item, item_version)
        for uid, gone in list(self._known.items()):
            if uid not in present:
                self._deliver("DELETED", gone, version)
        with self._lock:  # what was dropped in between cannot be replayed to a newcomer
            self.floor = max(self.floor, version)
        return version

    def _fail(self, message: str) -> None:
        with self._lock:
            self._failure = message
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.failed(message)

    def _run(self) -> None:
        LEDGER.bind(self._ledger)
        backoff = 0.05
        version: int | None = self.floor
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._relist()
                for event in self.kube.watch(
                    self.resource, self.namespace, str(version), handle=self._handle
                ):
                    obj = event.object
                    seen = _version((obj.get("metadata") or {}).get("resourceVersion", ""))
                    version = seen if seen is not None else version
                    if event.type != "BOOKMARK":
                        self._deliver(event.type, obj, version)
                    self._ledger.drain()  # the budget counts retries without progress
                backoff = 0.05
            except Gone:
                version = None
            except Exception as error:
                if self._stop.is_set():
                    return
                if is_transient(error):
                    try:
                        note_retry(
                            f"shared watch of {self.resource.plural} dropped ({error!r}); "
                            f"resuming from resourceVersion {version}"
                        )
                    except RetryBudgetExhausted as exhausted:
                        self._fail(str(exhausted))
                        return
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                message = f"watch of {self.resource.plural} in {self.namespace} failed: {error!r}"
                self._fail(str(error) if isinstance(error, KubeError) else message)
                return


class WatchHub:
    """The session's shared watches (see the module's docstring)."""

    def __init__(self, kube: KubeClient, origin: str, history: float = HISTORY_SECONDS) -> None:
        self.kube = kube
        self.origin = _version(origin)  # every stream starts here: before any test's `since`
        self.history = history
        self._streams: dict[tuple[str, str, str], _Stream] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.private = 0  # subscriptions the hub could not serve (private watchers instead)

    def watch(
        self,
        resource: Resource,
        namespace: str | None,
        timeline: Timeline,
        label_selector: str | None = None,
        field_selector: str | None = None,
        optional: bool = False,
        since: str = "",
    ) -> Subscription | ResourceWatcher:
        """A started subscription, or a started private watcher where the hub cannot serve."""
        selector = Selector.parse(label_selector, field_selector)
        start = _version(since)
        subscription = None
        if selector is not None and start is not None and namespace is not None:
            stream = self._stream(resource, namespace)
            if stream is not None:
                subscription = stream.subscribe(timeline, selector, start, optional)
        if subscription is not None:
            try:
                return subscription.start()
            except BaseException:
                subscription.stop()
                raise
        self.private += 1
        watcher = ResourceWatcher(
            self.kube,
            resource,
            namespace,
            timeline,
            label_selector=label_selector,
            field_selector=field_selector,
            optional=optional,
            since=since,
        )
        return watcher.start()

    def _stream(self, resource: Resource, namespace: str) -> _Stream | None:
        key = (resource.group, resource.plural, namespace)
        with self._lock:
            if self._closed or self.origin is None:
                return None
            stream = self._streams.get(key)
            if stream is None:
                stream = _Stream(self.kube, resource, namespace, self.origin, self.history)
                self._streams[key] = stream
            return stream

    def close(self) -> None:
        with self._lock:
            self._closed = True
            streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.stop()
