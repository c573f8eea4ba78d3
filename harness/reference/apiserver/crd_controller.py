"""The apiextensions controllers that bring a CustomResourceDefinition to life after its create.

kube-apiserver answers a CRD's create before anything accepted it (no conditions, empty
accepted names); a moment later its naming controller accepts the names (`NamesAccepted`,
`Established` False `Installing`), then its establishing controller marks it `Established`,
and only then are its resources served. Here both steps are background writes queued by
the create's watch event (`background.py`), so they follow the create at once; at start-up
(`--crd`) they run before the server is READY. A later write that changes the names gets
them accepted again.
"""

from __future__ import annotations

from harness.reference.apiserver.background import WorkQueue
from harness.reference.apiserver.registry import CRD_RESOURCE
from harness.reference.apiserver.schema import crd
from harness.reference.apiserver.verbs import ResourceVerbs
from harness.reference.apiserver.watch import DELETED, Event

ACCEPTED_MESSAGE = "the initial names have been accepted"


class CrdController:
    def __init__(self, verbs: ResourceVerbs, queue: WorkQueue) -> None:
        self.verbs = verbs
        self.queue = queue
        verbs.hub.add_listener(self.on_event)

    def on_event(self, event: Event) -> None:
        if event.resource != CRD_RESOURCE or event.type == DELETED:
            return
        obj = event.entry.obj
        if obj["metadata"].get("deletionTimestamp"):
            return
        status = obj.get("status") or {}
        if status.get("acceptedNames") != crd.accepted_names(obj):
            name = obj["metadata"]["name"]
            self.queue.push(lambda: self._accept_names(name))
        elif crd.condition_status(status, "Established") != "True":
            name = obj["metadata"]["name"]
            self.queue.push(lambda: self._establish(name))

    def _accept_names(self, name: str) -> None:
        entry = self.verbs.store.get(CRD_RESOURCE, "", name)
        if entry is None or entry.metadata.get("deletionTimestamp"):
            return
        now = self.verbs.now()
        status = dict(entry.obj.get("status") or {})
        status["acceptedNames"] = crd.accepted_names(entry.obj)
        status = crd.with_condition(
            status, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now
        )
        if crd.condition_status(status, "Established") != "True":
            status = crd.with_condition(
                status, "Established", "False", "Installing", ACCEPTED_MESSAGE, now
            )
        self.verbs.write_crd_status(entry, status)

    def _establish(self, name: str) -> None:
        entry = self.verbs.store.get(CRD_RESOURCE, "", name)
        if entry is None or entry.metadata.get("deletionTimestamp"):
            return
        status = crd.with_condition(
            dict(entry.obj.get("status") or {}),
            "Established",
            "True",
            "InitialNamesAccepted",
            ACCEPTED_MESSAGE,
            self.verbs.now(),
        )
        self.verbs.write_crd_status(entry, status)
