"""Background cleanup: ownerReference garbage collection, CRD and namespace teardown.

The real work of kube-controller-manager's garbage collector and namespace controller, and of
the apiextensions CRD finalizer, reduced to what the harness needs. It listens to every event
synchronously but acts later (scheduled on the event loop), like the real controllers, and all
its writes are ordinary API writes: they bump resourceVersion and emit watch events.

- Owner gone (background propagation): a dependent whose owners are all gone is deleted
  (its own finalizers honoured); one with another live owner only loses the dangling reference.
- `propagationPolicy=Foreground`: the owner keeps the `foregroundDeletion` finalizer until no
  dependent with `blockOwnerDeletion: true` is left; `Orphan`: dependents lose the reference,
  then the `orphan` finalizer goes.
- A terminating CRD deletes all its objects, then drops its cleanup finalizer (and vanishes).
- A terminating namespace deletes all namespaced objects in it, then its `kubernetes` finalizer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness.reference.apiserver.background import WorkQueue
from harness.reference.apiserver.object_store import ObjectKey
from harness.reference.apiserver.registry import CRD_RESOURCE, NAMESPACES
from harness.reference.apiserver.schema.crd import CLEANUP_FINALIZER
from harness.reference.apiserver.verbs import (
    FOREGROUND,
    NAMESPACE_FINALIZER,
    ORPHAN,
    DeleteOptions,
    ResourceVerbs,
)
from harness.reference.apiserver.watch import ADDED, DELETED, Event


class GarbageCollector:
    def __init__(self, verbs: ResourceVerbs, queue: WorkQueue | None = None) -> None:
        self.verbs = verbs
        self.store = verbs.store
        self.queue = queue or WorkQueue()
        self._terminating_crds: dict[str, str] = {}  # resource id -> CRD name
        self._terminating_namespaces: set[str] = set()
        verbs.hub.add_listener(self.on_event)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.queue.attach(loop)

    @property
    def idle(self) -> bool:
        return self.queue.idle

    def run_until_idle(self) -> None:
        """Process everything now (used at startup, before the loop serves)."""
        self.queue.run_until_idle()

    # --- event intake (synchronous, cheap) ------------------------------------------------

    def on_event(self, event: Event) -> None:
        metadata = event.entry.metadata
        if event.type == DELETED:
            uid = metadata["uid"]
            self._push(lambda: self._owner_gone(uid))
            for ref in metadata.get("ownerReferences") or ():
                owner_uid = ref.get("uid")
                if owner_uid:
                    self._push(lambda owner_uid=owner_uid: self._check_foreground(owner_uid))
            crd_name = self._terminating_crds.get(event.resource)
            if crd_name is not None:
                self._push(lambda: self._check_crd(crd_name))
            if event.namespace in self._terminating_namespaces:
                namespace = event.namespace
                self._push(lambda: self._check_namespace(namespace))
            return
        if metadata.get("deletionTimestamp") and not (
            event.previous is not None and event.previous.metadata.get("deletionTimestamp")
        ):
            self._started_deleting(event)
        if event.type == ADDED and metadata.get("ownerReferences"):
            key = (event.resource, event.namespace, metadata["name"])
            self._push(lambda: self._check_dependent(key))

    def _started_deleting(self, event: Event) -> None:
        metadata = event.entry.metadata
        uid = metadata["uid"]
        finalizers = metadata.get("finalizers") or ()
        if FOREGROUND in finalizers:
            self._push(lambda: self._foreground(uid))
        if ORPHAN in finalizers:
            self._push(lambda: self._orphan(uid))
        if event.resource == CRD_RESOURCE:
            name = metadata["name"]
            self._push(lambda: self._cleanup_crd(name))
        elif event.resource == NAMESPACES:
            name = metadata["name"]
            self._terminating_namespaces.add(name)
            self._push(lambda: self._cleanup_namespace(name))

    def _push(self, task: Callable[[], None]) -> None:
        self.queue.push(task)

    # --- steps ----------------------------------------------------------------------------

    def _entry(self, key: ObjectKey) -> tuple[Any, Any] | None:
        resource = self.verbs.registry.storage_type(key[0])
        if resource is None:
            return None
        entry = self.store.get(*key)
        return (resource, entry) if entry is not None else None

    def _owner_gone(self, uid: str) -> None:
        for key in self.store.dependents(uid):
            self._check_dependent(key)

    def _check_dependent(self, key: ObjectKey) -> None:
        found = self._entry(key)
        if found is None:
            return
        resource, entry = found
        refs = entry.metadata.get("ownerReferences") or ()
        gone = {ref.get("uid") for ref in refs if self.store.by_uid(ref.get("uid", "")) is None}
        if not gone:
            return
        if len(gone) < len(refs):
            self.verbs.remove_owner_references(resource, entry, gone)
        elif not entry.metadata.get("deletionTimestamp"):
            self.verbs.delete(resource, key[1], key[2], DeleteOptions())

    def _foreground(self, uid: str) -> None:
        for key in self.store.dependents(uid):
            found = self._entry(key)
            if found is not None and not found[1].metadata.get("deletionTimestamp"):
                self.verbs.delete(found[0], key[1], key[2], DeleteOptions())
        self._check_foreground(uid)

    def _check_foreground(self, uid: str) -> None:
        key = self.store.by_uid(uid)
        if key is None:
            return
        found = self._entry(key)
        if found is None:
            return
        resource, owner = found
        if FOREGROUND not in (owner.metadata.get("finalizers") or ()):
            return
        for dependent_key in self.store.dependents(uid):
            dependent = self.store.get(*dependent_key)
            if dependent is None:
                continue
            for ref in dependent.metadata.get("ownerReferences") or ():
                if ref.get("uid") == uid and ref.get("blockOwnerDeletion"):
                    return
        self.verbs.remove_finalizer(resource, owner, FOREGROUND)

    def _orphan(self, uid: str) -> None:
        for key in self.store.dependents(uid):
            found = self._entry(key)
            if found is not None:
                self.verbs.remove_owner_references(found[0], found[1], {uid})
        owner_key = self.store.by_uid(uid)
        if owner_key is not None:
            found = self._entry(owner_key)
            if found is not None:
                self.verbs.remove_finalizer(found[0], found[1], ORPHAN)

    def _cleanup_crd(self, name: str) -> None:
        resources = self.verbs.registry.crd_types(name)
        if resources:
            resource_id = resources[0].resource_id
            self._terminating_crds[resource_id] = name
            resource = self.verbs.registry.storage_type(resource_id) or resources[0]
            for namespace, object_name in list(self.store.keys(resource_id, None)):
                entry = self.store.get(resource_id, namespace, object_name)
                if entry is not None and not entry.metadata.get("deletionTimestamp"):
                    self.verbs.delete(resource, namespace, object_name, DeleteOptions())
        self._check_crd(name)

    def _check_crd(self, name: str) -> None:
        resources = self.verbs.registry.crd_types(name)
        if resources and self.store.count(resources[0].resource_id):
            return
        for resource_id, crd_name in list(self._terminating_crds.items()):
            if crd_name == name:
                del self._terminating_crds[resource_id]
        entry = self.store.get(CRD_RESOURCE, "", name)
        if entry is not None and CLEANUP_FINALIZER in (entry.metadata.get("finalizers") or ()):
            self.verbs.remove_finalizer(self.verbs.crds, entry, CLEANUP_FINALIZER)

    def _cleanup_namespace(self, namespace: str) -> None:
        for resource_id in self.verbs.registry.namespaced_resource_ids():
            resource = self.verbs.registry.storage_type(resource_id)
            if resource is None:
                continue
            for ns, name in list(self.store.keys(resource_id, namespace)):
                entry = self.store.get(resource_id, ns, name)
                if entry is not None and not entry.metadata.get("deletionTimestamp"):
                    self.verbs.delete(resource, ns, name, DeleteOptions())
        self._check_namespace(namespace)

    def _check_namespace(self, namespace: str) -> None:
        for resource_id in self.verbs.registry.namespaced_resource_ids():
            if self.store.keys(resource_id, namespace):
                return
        self._terminating_namespaces.discard(namespace)
        entry = self.store.get(NAMESPACES, "", namespace)
        if entry is not None and entry.metadata.get("deletionTimestamp"):
            self.verbs.remove_finalizer(self.verbs.namespaces, entry, NAMESPACE_FINALIZER)
