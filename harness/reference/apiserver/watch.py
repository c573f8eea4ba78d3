"""Watch events: a bounded window for replay (like the real watch cache) and live watchers.

Every store write publishes exactly one `Event`, so the window holds a contiguous run of
revisions and "is revision N still replayable" is one comparison. An event's wire line is
built at most once per event type (ADDED/MODIFIED/DELETED) and shared by every watcher that
needs it, however many there are.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterator
from typing import Any

from harness.reference.apiserver.object_store import Entry, dumps
from harness.reference.apiserver.selectors import Predicate
from harness.reference.apiserver.status_errors import expired

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
MAX_PENDING_LINES = 50_000


class Event:
    __slots__ = ("_lines", "entry", "namespace", "previous", "resource", "rv", "type")

    def __init__(self, resource: str, type_: str, entry: Entry, previous: Entry | None) -> None:
        self.resource = resource
        self.type = type_
        self.entry = entry
        self.previous = previous
        self.rv = entry.rv
        self.namespace: str = entry.metadata.get("namespace", "")
        self._lines: dict[str, bytes] = {}

    def line(self, type_: str) -> bytes:
        """The wire line for this event delivered as `type_` (selector transitions change it)."""
        line = self._lines.get(type_)
        if line is None:
            if type_ == DELETED and self.type == MODIFIED:
                # Leaving a watcher's selector: the previous content at the event's revision.
                assert self.previous is not None
                obj = dict(self.previous.obj)
                obj["metadata"] = dict(self.previous.metadata, resourceVersion=str(self.rv))
                raw = dumps(obj)
            else:
                raw = self.entry.raw
            line = self._lines[type_] = (
                b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"
            )
        return line


def added_line(entry: Entry) -> bytes:
    return b'{"type":"ADDED","object":' + entry.raw + b"}\n"


def bookmark_line(api_version: str, kind: str, revision: int) -> bytes:
    return (
        dumps(
            {
                "type": "BOOKMARK",
                "object": {
                    "kind": kind,
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(revision)},
                },
            }
        )
        + b"\n"
    )


def error_line(status: dict[str, Any]) -> bytes:
    return dumps({"type": "ERROR", "object": status}) + b"\n"


class EventWindow:
    """Ring buffer of the most recent events (all resources), oldest first.

    A resource's history also has a start: a custom resource's begins when its CRD is
    registered (kube-apiserver starts a watch cache for it then), so an older resourceVersion
    is 410 for it even while the window still holds events of that age.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._events: collections.deque[Event] = collections.deque(maxlen=max(size, 1))
        self._starts: dict[str, int] = {}

    def start_history(self, resource: str, revision: int) -> None:
        self._starts[resource] = revision

    def forget_history(self, resource: str) -> None:
        self._starts.pop(resource, None)

    def append(self, event: Event) -> None:
        self._events.append(event)

    @property
    def oldest_replayable(self) -> int:
        """Smallest N for which every event after N is still in the window."""
        return self._events[0].rv - 1 if self._events else 0

    def since(self, rv: int, current: int, resource: str | None = None) -> list[Event]:
        """Events with revision > rv (none yet when rv is in the future), or 410 Expired when
        some of them were already dropped or `resource`'s history starts after rv."""
        start = self._starts.get(resource, 0) if resource is not None else 0
        if rv < start:
            raise expired(f"too old resource version: {rv} ({start})")
        if rv < current and (not self._events or rv < self.oldest_replayable):
            oldest = self.oldest_replayable if self._events else current
            raise expired(f"too old resource version: {rv} ({max(oldest, start)})")
        collected: list[Event] = []
        for event in reversed(self._events):
            if event.rv <= rv:
                break
            collected.append(event)
        collected.reverse()
        return collected

    def covers(self, rv: int, current: int) -> bool:
        return rv == current or (bool(self._events) and self.oldest_replayable <= rv < current)


class Watcher:
    """One watch request's filter and its queue of pending wire lines."""

    __slots__ = (
        "after",
        "closed",
        "fields",
        "labels",
        "namespace",
        "pending",
        "resource",
        "wakeup",
    )

    def __init__(
        self,
        resource: str,
        namespace: str | None,
        labels: Predicate | None,
        fields: Predicate | None,
        after: int = 0,
    ) -> None:
        self.resource = resource
        # Events up to this revision are not for this watcher (a resourceVersion from the future).
        self.after = after
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.pending: list[bytes] = []
        self.wakeup = asyncio.Event()
        self.closed = False

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.labels is not None and not self.labels(obj):
            return False
        return self.fields is None or self.fields(obj)

    def translate(self, event: Event) -> bytes | None:
        """The line this watcher sees for `event`, or None (real watch-cache semantics)."""
        if self.namespace is not None and event.namespace != self.namespace:
            return None
        if event.rv <= self.after:
            return None
        if self.labels is None and self.fields is None:
            return event.line(event.type)
        if event.type == DELETED:
            return event.line(DELETED) if self.matches(event.entry.obj) else None
        now = self.matches(event.entry.obj)
        before = event.previous is not None and self.matches(event.previous.obj)
        if now:
            return event.line(MODIFIED if before else ADDED)
        return event.line(DELETED) if before else None

    def push(self, line: bytes) -> None:
        if self.closed:
            return
        self.pending.append(line)
        if len(self.pending) > MAX_PENDING_LINES:
            # A reader this far behind is gone or stuck; end its stream, it will re-watch.
            self.close()
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()

    def drain(self) -> bytes:
        chunk = b"".join(self.pending)
        self.pending.clear()
        return chunk


class WatchHub:
    def __init__(self, window_size: int) -> None:
        self.window = EventWindow(window_size)
        self._watchers: dict[str, set[Watcher]] = collections.defaultdict(set)
        self._listeners: list[Callable[[Event], None]] = []

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """In-process consumers (the garbage collector) see every event synchronously."""
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        self.window.append(event)
        for watcher in self._watchers.get(event.resource, ()):
            line = watcher.translate(event)
            if line is not None:
                watcher.push(line)
        for listener in self._listeners:
            listener(event)

    def register(self, watcher: Watcher) -> None:
        self._watchers[watcher.resource].add(watcher)

    def unregister(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.resource)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.resource]

    def watchers(self) -> Iterator[Watcher]:
        for watchers in list(self._watchers.values()):
            yield from list(watchers)

    def close_all(self) -> None:
        for watcher in self.watchers():
            watcher.close()

    def close_resource(self, resource: str) -> None:
        for watcher in list(self._watchers.get(resource, ())):
            watcher.close()
