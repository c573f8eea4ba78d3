"""The per-test timeline: every change the harness watched, in order, with server versions.

Watchers (`watchers.py`) append every event of the objects a test follows to its `Timeline`,
and the fulfillment client appends every API call. Waits block on the timeline's condition
variable instead of polling, and expectations read the whole history afterwards
("RestartInProgress appeared", "RestartFailed never did"), not just the end state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loads gRPC; report-only processes import this module
    from harness.clients.fulfillment_api import ApiAnswer, ApiCall


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

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.object.get("metadata") or {})

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.object.get("spec") or {})

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.object.get("status") or {})

    @property
    def conditions(self) -> dict[str, dict[str, Any]]:
        """`status.conditions` by type."""
        return {str(item.get("type")): dict(item) for item in self.status.get("conditions") or []}

    @property
    def deleting(self) -> bool:
        """Deleted, or carrying a deletionTimestamp."""
        return not self.exists or bool(self.metadata.get("deletionTimestamp"))


@dataclass(frozen=True)
class ApiCallRecord:
    seq: int
    wall_time: float
    elapsed: float
    method: str
    code: str
    duration: float
    request: str
    answered: tuple[ApiAnswer, ...] = ()


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
                    call.answered,
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
                            "answered": [
                                {"id": a.id, "state": a.state, "conditions": a.conditions}
                                for a in call.answered
                            ],
                        }
                    )
                    + "\n"
                )


class WatchFailed(RuntimeError):
    """A watch feeding the timeline could not go on: the waits raise it, never time out."""
