"""Object storage: a small interface and its in-memory implementation.

Stored objects are immutable snapshots (`Entry`): every write stores a fresh dict, so watch
events, list results and the event window can share them without copying, and each snapshot is
serialised to JSON at most once. One global revision counter plays etcd's role: every write
(create, update, delete) bumps it and stamps the new value into `metadata.resourceVersion`.

Lookups are dicts keyed by resource, namespace and name; nothing scans all objects on a
single-object operation.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

_encode = json.JSONEncoder(separators=(",", ":")).encode

ObjectKey = tuple[str, str, str]  # (resource id, namespace or "", name)


def dumps(value: Any) -> bytes:
    return _encode(value).encode()


class Entry:
    """One stored version of an object. Never mutate `obj`."""

    __slots__ = ("_raw", "obj", "rv")

    def __init__(self, obj: dict[str, Any], rv: int) -> None:
        self.obj = obj
        self.rv = rv
        self._raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        raw = self._raw
        if raw is None:
            raw = self._raw = dumps(self.obj)
        return raw

    @property
    def metadata(self) -> dict[str, Any]:
        return self.obj["metadata"]

    def release(self) -> None:
        """Drop the cached JSON of a superseded version (the event window may still hold it)."""
        self._raw = None

    def copy(self) -> dict[str, Any]:
        """A private deep copy (parsing the cached JSON is faster than `copy.deepcopy`)."""
        copied: dict[str, Any] = json.loads(self.raw)
        return copied


class Store(Protocol):
    """What the API layer needs from storage; `obj` arguments are handed over, not copied."""

    @property
    def revision(self) -> int: ...

    def get(self, resource: str, namespace: str, name: str) -> Entry | None: ...

    def keys(self, resource: str, namespace: str | None) -> list[tuple[str, str]]:
        """(namespace, name) pairs in stable sorted order; `None` means all namespaces."""
        ...

    def count(self, resource: str) -> int: ...

    def namespaces(self, resource: str) -> list[str]: ...

    def create(self, resource: str, obj: dict[str, Any]) -> Entry: ...

    def update(self, resource: str, obj: dict[str, Any]) -> tuple[Entry, Entry]:
        """Store a new version; returns (previous, new)."""
        ...

    def delete(self, resource: str, namespace: str, name: str) -> tuple[Entry, Entry]:
        """Remove an object; returns (previous, final) where final carries the new revision."""
        ...

    def by_uid(self, uid: str) -> ObjectKey | None: ...

    def dependents(self, owner_uid: str) -> list[ObjectKey]: ...


class MemoryStore:
    """The in-memory `Store`: O(1) get/create/update/delete, per-namespace maps."""

    def __init__(self) -> None:
        self._revision = 0
        self._objects: dict[str, dict[str, dict[str, Entry]]] = {}
        self._sorted: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        self._uids: dict[str, ObjectKey] = {}
        self._dependents: dict[str, set[ObjectKey]] = {}

    @property
    def revision(self) -> int:
        return self._revision

    def get(self, resource: str, namespace: str, name: str) -> Entry | None:
        by_namespace = self._objects.get(resource)
        if by_namespace is None:
            return None
        names = by_namespace.get(namespace)
        return names.get(name) if names is not None else None

    def keys(self, resource: str, namespace: str | None) -> list[tuple[str, str]]:
        cached = self._sorted.get((resource, namespace))
        if cached is not None:
            return cached
        by_namespace = self._objects.get(resource, {})
        if namespace is None:
            keys = [(ns, name) for ns in sorted(by_namespace) for name in sorted(by_namespace[ns])]
        else:
            keys = [(namespace, name) for name in sorted(by_namespace.get(namespace, ()))]
        self._sorted[(resource, namespace)] = keys
        return keys

    def count(self, resource: str) -> int:
        return sum(len(names) for names in self._objects.get(resource, {}).values())

    def namespaces(self, resource: str) -> list[str]:
        return [ns for ns, names in self._objects.get(resource, {}).items() if names]

    def create(self, resource: str, obj: dict[str, Any]) -> Entry:
        metadata = obj["metadata"]
        namespace = metadata.get("namespace", "")
        name = metadata["name"]
        entry = self._stamp(obj)
        self._objects.setdefault(resource, {}).setdefault(namespace, {})[name] = entry
        self._forget_order(resource, namespace)
        key = (resource, namespace, name)
        self._uids[metadata["uid"]] = key
        self._index_owners(key, (), _owner_uids(metadata))
        return entry

    def update(self, resource: str, obj: dict[str, Any]) -> tuple[Entry, Entry]:
        metadata = obj["metadata"]
        namespace = metadata.get("namespace", "")
        name = metadata["name"]
        names = self._objects[resource][namespace]
        previous = names[name]
        entry = self._stamp(obj)
        names[name] = entry
        previous.release()
        old_owners = _owner_uids(previous.metadata)
        new_owners = _owner_uids(metadata)
        if old_owners != new_owners:
            self._index_owners((resource, namespace, name), old_owners, new_owners)
        return previous, entry

    def delete(self, resource: str, namespace: str, name: str) -> tuple[Entry, Entry]:
        names = self._objects[resource][namespace]
        previous = names.pop(name)
        if not names:
            del self._objects[resource][namespace]
        self._forget_order(resource, namespace)
        final_obj = dict(previous.obj)
        final_obj["metadata"] = dict(previous.metadata)
        final = self._stamp(final_obj)
        self._uids.pop(previous.metadata["uid"], None)
        self._index_owners((resource, namespace, name), _owner_uids(previous.metadata), ())
        return previous, final

    def by_uid(self, uid: str) -> ObjectKey | None:
        return self._uids.get(uid)

    def dependents(self, owner_uid: str) -> list[ObjectKey]:
        return sorted(self._dependents.get(owner_uid, ()))

    def _stamp(self, obj: dict[str, Any]) -> Entry:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        return Entry(obj, self._revision)

    def _forget_order(self, resource: str, namespace: str) -> None:
        self._sorted.pop((resource, namespace), None)
        self._sorted.pop((resource, None), None)

    def _index_owners(self, key: ObjectKey, old: tuple[str, ...], new: tuple[str, ...]) -> None:
        for uid in old:
            dependents = self._dependents.get(uid)
            if dependents is not None:
                dependents.discard(key)
                if not dependents:
                    del self._dependents[uid]
        for uid in new:
            self._dependents.setdefault(uid, set()).add(key)


def _owner_uids(metadata: dict[str, Any]) -> tuple[str, ...]:
    refs = metadata.get("ownerReferences")
    if not refs:
        return ()
    return tuple(ref["uid"] for ref in refs if isinstance(ref, dict) and ref.get("uid"))
