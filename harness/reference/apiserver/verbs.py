"""The Kubernetes verbs on stored objects, independent of HTTP: `ResourceVerbs`.

`ResourceVerbs` serves get, list, watch (`open_watch`), create, update (`replace`), patch, delete
and deletecollection for every registered type, with the API server's rules:

- Reads: label and field selectors; `limit` and `continue` pages a consistent snapshot, rebuilt
  from the watch hub's event window (410 Expired once the window no longer reaches it). A watch
  starts with the current objects (`resourceVersion` 0 or unset) or replays the window from the
  given resourceVersion.
- Writes: server-owned metadata (uid, creationTimestamp, generation, resourceVersion, deletion
  fields) is set by the server and kept across updates; an update must carry the stored
  resourceVersion (409 Conflict if it differs), a patch may. For types with a status
  subresource, `/status` changes only status and the main resource everything else. Creates and
  updates are pruned, defaulted and validated against the type's structural schema and CEL
  rules; generation rises only when something beyond metadata (and status, for types with the
  subresource) changed. A write that changes nothing stores nothing.
- Deletion: uid and resourceVersion preconditions; an object with finalizers (including
  `foregroundDeletion` or `orphan`, which the Foreground and Orphan propagation policies add)
  only gets a deletionTimestamp, and goes in the write that releases its last finalizer. One
  that goes at once is answered with a `Status` (Success) naming it, or itself for the types
  that return the deleted object (`deletion_answer`).
- Namespaces get their `kubernetes.io/metadata.name` label, `kubernetes` finalizer and phase; a
  CustomResourceDefinition is defaulted and compiled on write, its types registered once it is
  stored and removed (with their watches closed) when it goes.

Every stored change publishes exactly one watch event (ADDED, MODIFIED or DELETED) carrying the
previous version. `remove_finalizer` and `remove_owner_references` are the garbage collector's
writes: ordinary writes that skip validation. Objects handed to the store are private: request
bodies are freshly decoded, a JSON patch works on a copy of the stored version (`Entry.copy`),
and a merge patch shares only what it leaves untouched with the (immutable) stored version.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.reference.apiserver import go_json, object_decoding
from harness.reference.apiserver import object_meta as meta
from harness.reference.apiserver.object_store import Entry, Store, dumps
from harness.reference.apiserver.patch import JSON_PATCH, apply_patch
from harness.reference.apiserver.registry import CRD_RESOURCE, NAMESPACES, Registry, ResourceType
from harness.reference.apiserver.request_options import (
    dry_run_causes,
    options_invalid,
    parse_int64,
    path_segment_name,
    query_bool,
    query_values,
)
from harness.reference.apiserver.schema import cel, crd
from harness.reference.apiserver.schema.structural import MISSING, prune_and_default
from harness.reference.apiserver.schema.validation import rules_not_checked
from harness.reference.apiserver.schema.validation import validate as validate_schema
from harness.reference.apiserver.selectors import (
    Predicate,
    parse_field_selector,
    parse_label_selector,
)
from harness.reference.apiserver.status_errors import (
    ApiError,
    Cause,
    already_exists,
    bad_request,
    conflict,
    expired,
    field_forbidden,
    field_invalid,
    field_not_supported,
    field_required,
    forbidden,
    invalid,
    method_not_allowed,
    not_found,
)
from harness.reference.apiserver.watch import (
    ADDED,
    DELETED,
    MODIFIED,
    Event,
    Watcher,
    WatchHub,
    added_line,
)

PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NAMESPACE_FINALIZER = "kubernetes"
CORE_EVENTS = "events"


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """A delete request's options, from its query and its DeleteOptions body (`parse`)."""

    propagation: str | None = None
    """`Background`, `Foreground` or `Orphan`: what happens to dependents. `propagationPolicy`
    (query or body), else `orphanDependents` (`true`: Orphan, `false`: Background). Default
    None: not asked, so the object's own `orphan` or `foregroundDeletion` finalizer decides,
    else Background."""

    uid: str | None = None
    """The object's uid must be this (409 Conflict otherwise). Default None: not checked.
    `preconditions.uid` in the body."""

    resource_version: str | None = None
    """The object's resourceVersion must be this (409 Conflict otherwise). Default None: not
    checked. `preconditions.resourceVersion` in the body."""

    orphan_dependents: bool | None = None
    """`orphanDependents` as sent (query or body); default None: not sent. `false` on a
    deletion that has to wait for finalizers makes the answer 202 Accepted."""

    dry_run: bool = False
    """`dryRun: [All]`: everything a delete does, answered, and nothing stored."""

    @classmethod
    def parse(
        cls, body: Any, query: dict[str, str], raw_query: list[tuple[str, str]]
    ) -> DeleteOptions:
        """From the body when one was sent (the query is then ignored, as kube-apiserver
        ignores it), else from the query; invalid options are the handler's 422."""
        if body is not None:
            body = body if isinstance(body, dict) else {}
            orphan = body.get("orphanDependents")
            orphan_dependents = None if orphan is None else orphan is True
            policy = body.get("propagationPolicy")
            dry_run = body.get("dryRun") or []
        else:
            orphan = query.get("orphanDependents")
            orphan_dependents = None if orphan is None else query_bool(orphan)
            policy = query.get("propagationPolicy")
            dry_run = query_values(raw_query, "dryRun")
            if query.get("gracePeriodSeconds"):
                parse_int64(query["gracePeriodSeconds"])
        causes = []
        if orphan_dependents is not None and policy is not None:
            causes.append(
                field_invalid(
                    "propagationPolicy",
                    policy,
                    "orphanDependents and deletionPropagation cannot be both set",
                )
            )
        if policy is not None and policy not in PROPAGATION_POLICIES:
            causes.append(
                field_not_supported("propagationPolicy", policy, [*PROPAGATION_POLICIES, "nil"])
            )
        causes += dry_run_causes(dry_run if isinstance(dry_run, list) else [dry_run])
        if causes:
            raise options_invalid("DeleteOptions", causes)
        if policy is None and orphan_dependents is not None:
            policy = "Orphan" if orphan_dependents else "Background"
        preconditions = body.get("preconditions") or {} if body is not None else {}
        return cls(
            policy,
            preconditions.get("uid"),
            preconditions.get("resourceVersion"),
            orphan_dependents,
            bool(dry_run),
        )


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a delete did: `entry` is the object's final version when it is `gone`, else the
    version now waiting for its finalizers."""

    entry: Entry
    gone: bool


class ResourceVerbs:
    """The verbs of one API server instance over its store, registry and watch hub."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        hub: WatchHub,
        clock: Callable[[], str] = meta.now_rfc3339,
    ) -> None:
        self.store = store
        self.registry = registry
        self.hub = hub
        self.now = clock
        self._pending_crd: crd.CompiledCrd | None = None
        self._compiled_crds: dict[str, crd.CompiledCrd] = {}
        self.namespaces = registry.namespaces()
        self.crds = registry.crds()

    # --- reads ----------------------------------------------------------------------------

    def get(self, resource: ResourceType, namespace: str, name: str) -> Entry:
        path_segment_name(name)
        entry = self.store.get(resource.resource_id, namespace, name)
        if entry is None:
            raise not_found(resource.plural, resource.group, name)
        return entry

    def render(self, resource: ResourceType, entry: Entry) -> bytes:
        """An object as served through `resource`'s version (no conversion beyond apiVersion)."""
        if entry.obj.get("apiVersion") == resource.api_version:
            return entry.raw
        return dumps(dict(entry.obj, apiVersion=resource.api_version))

    def list(self, resource: ResourceType, namespace: str | None, query: dict[str, str]) -> bytes:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), resource.field_selectors)
        limit = _non_negative_int(query.get("limit"))
        token = query.get("continue")
        exact = list_resource_version(query, self.store.revision)
        resource_id = resource.resource_id
        if token or exact is not None:
            if token:
                revision, start = _decode_continue(token)
            else:
                assert exact is not None
                revision, start = exact, ("", "")
            snapshot = self._snapshot(resource, namespace, revision, continuing=bool(token))
            keys = sorted(snapshot)
            position = bisect.bisect_right(keys, start)
            lookup: Callable[[tuple[str, str]], Entry | None] = snapshot.get
        else:
            revision = self.store.revision
            keys = self.store.keys(resource_id, namespace)
            position = 0
            store_get = self.store.get

            def lookup(key: tuple[str, str]) -> Entry | None:
                return store_get(resource_id, key[0], key[1])

        items: list[bytes] = []
        total = len(keys)
        while position < total and (not limit or len(items) < limit):
            entry = lookup(keys[position])
            position += 1
            if entry is None:
                continue
            if labels is not None and not labels(entry.obj):
                continue
            if fields is not None and not fields(entry.obj):
                continue
            items.append(self.render(resource, entry))
        list_meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if limit and position < total:
            last = keys[position - 1]
            list_meta["continue"] = _encode_continue(revision, last)
            if labels is None and fields is None:
                list_meta["remainingItemCount"] = total - position
        head = dumps(
            {"apiVersion": resource.api_version, "kind": resource.list_kind, "metadata": list_meta}
        )
        return head[:-1] + b',"items":[' + b",".join(items) + b"]}"

    def _snapshot(
        self, resource: ResourceType, namespace: str | None, revision: int, continuing: bool
    ) -> dict[tuple[str, str], Entry]:
        """The objects as they were at `revision`, rebuilt from the event window."""
        try:
            events = self.hub.window.since(revision, self.store.revision)
        except ApiError:
            raise expired(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter."
                if continuing
                else "The resourceVersion for the provided list is too old."
            ) from None
        resource_id = resource.resource_id
        snapshot: dict[tuple[str, str], Entry] = {}
        for ns, name in self.store.keys(resource_id, namespace):
            entry = self.store.get(resource_id, ns, name)
            if entry is not None:
                snapshot[(ns, name)] = entry
        seen: set[tuple[str, str]] = set()
        for event in events:
            if event.resource != resource_id:
                continue
            if namespace is not None and event.namespace != namespace:
                continue
            key = (event.namespace, event.entry.metadata["name"])
            if key in seen:
                continue
            seen.add(key)
            if event.previous is None:
                snapshot.pop(key, None)
            else:
                snapshot[key] = event.previous
        return snapshot

    def open_watch(
        self, resource: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> tuple[Watcher, list[bytes]]:
        """Register a watcher; returns it with the lines to send first (initial or replayed).

        Raises ApiError(410) when the requested resourceVersion is no longer replayable.
        """
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), resource.field_selectors)
        requested = query.get("resourceVersion") or "0"
        # kube-apiserver answers 500 to an unparsable resourceVersion here; this server, 400.
        revision = parse_resource_version(requested, "")
        # From the future: nothing until the store gets there (kube-apiserver waits, silent).
        after = revision if revision > self.store.revision else 0
        watcher = Watcher(resource.resource_id, namespace, labels, fields, after)
        initial: list[bytes] = []
        if revision == 0:
            for entry in self._current(resource, namespace, labels, fields):
                initial.append(added_line(entry))
        else:
            history = self.hub.window.since(revision, self.store.revision, resource.resource_id)
            for event in history:
                if event.resource == resource.resource_id:
                    line = watcher.translate(event)
                    if line is not None:
                        initial.append(line)
        self.hub.register(watcher)
        return watcher, initial

    def _current(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: Predicate | None,
        fields: Predicate | None,
    ) -> list[Entry]:
        entries = []
        resource_id = resource.resource_id
        for ns, name in self.store.keys(resource_id, namespace):
            entry = self.store.get(resource_id, ns, name)
            if entry is None:
                continue
            if labels is not None and not labels(entry.obj):
                continue
            if fields is not None and not fields(entry.obj):
                continue
            entries.append(entry)
        return entries

    # --- create ---------------------------------------------------------------------------

    def create(
        self,
        resource: ResourceType,
        namespace: str,
        body: Any,
        *,
        keep_status: bool = False,
        dry_run: bool = False,
    ) -> Entry:
        obj = self._decode(resource, body, namespace)
        metadata = obj["metadata"]
        if resource.namespaced:
            self._require_namespace(namespace, creating=True)
        self._require_established(resource)
        for field in (*meta.SERVER_FIELDS, "resourceVersion", "managedFields"):
            metadata.pop(field, None)
        name = metadata.get("name")
        if not name:
            prefix = metadata.get("generateName")
            if not prefix or not isinstance(prefix, str):
                raise invalid(
                    resource.kind,
                    resource.group,
                    "",
                    [field_required("metadata.name", "name or generateName is required")],
                )
            name = self._generate_name(resource, namespace, prefix)
            metadata["name"] = name
        elif self.store.get(resource.resource_id, namespace, name) is not None:
            raise already_exists(resource.plural, resource.group, name)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = self.now()
        if resource.generation:
            metadata["generation"] = 1
        if resource.status_subresource and not keep_status:
            obj.pop("status", None)
        self._prepare(resource, obj, None)
        self._validate(resource, obj, None, validate_rules=True)
        if dry_run:
            self._pending_crd = None
            return Entry(obj, 0)
        entry = self.store.create(resource.resource_id, obj)
        self._publish(resource, ADDED, entry, None)
        self._after_write(resource, entry)
        return entry

    def _generate_name(self, resource: ResourceType, namespace: str, prefix: str) -> str:
        for _ in range(16):
            name = meta.generate_name(prefix)
            if self.store.get(resource.resource_id, namespace, name) is None:
                return name
        raise already_exists(resource.plural, resource.group, name)

    # --- update and patch -----------------------------------------------------------------

    def replace(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        status: bool,
        *,
        dry_run: bool = False,
    ) -> Entry:
        obj = self._decode(resource, body, namespace)
        body_name = obj["metadata"].get("name")
        if body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        entry = self.get(resource, namespace, name)
        requested = obj["metadata"].get("resourceVersion")
        if not requested and resource.unconditional_update:
            requested = entry.metadata["resourceVersion"]
        if not requested:
            # Custom resources are refused by their generic store, named by resource and with
            # the version as a number; built-ins by their strategy, by kind.
            custom = resource.is_custom
            raise invalid(
                resource.plural if custom else resource.kind,
                resource.group,
                name,
                [
                    field_invalid(
                        "metadata.resourceVersion",
                        0 if custom else "0x0",
                        "must be specified for an update",
                    )
                ],
            )
        if requested != entry.metadata["resourceVersion"]:
            raise conflict(resource.plural, resource.group, name)
        return self._update(resource, entry, obj, status, dry_run=dry_run)

    def patch(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        content_type: str,
        status: bool,
        *,
        dry_run: bool = False,
    ) -> Entry:
        entry = self.get(resource, namespace, name)
        # A merge patch builds new dicts only along the paths it touches and shares the rest
        # with the stored (immutable) version; validation skips what it shares by identity.
        # JSON patch mutates in place, so it gets a private copy.
        target = entry.copy() if content_type == JSON_PATCH else entry.obj
        patched = apply_patch(target, body, content_type, resource.strategic_merge)
        if not isinstance(patched, dict):
            raise bad_request("the patched object must be a JSON object")
        object_decoding.check_patched(resource, patched)
        metadata = patched.get("metadata")
        if not isinstance(metadata, dict):
            raise bad_request("the patched object has no metadata")
        metadata = patched["metadata"] = dict(metadata)
        if metadata.get("name") != name or metadata.get("namespace", "") != namespace:
            raise invalid(
                resource.kind,
                resource.group,
                name,
                [field_invalid("metadata.name", metadata.get("name"), "field is immutable")],
            )
        requested = metadata.get("resourceVersion")
        if requested and requested != entry.metadata["resourceVersion"]:
            raise conflict(resource.plural, resource.group, name)
        metadata["resourceVersion"] = entry.metadata["resourceVersion"]
        return self._update(resource, entry, patched, status, dry_run=dry_run)

    def _update(
        self,
        resource: ResourceType,
        entry: Entry,
        incoming: dict[str, Any],
        status: bool,
        *,
        validate_rules: bool = True,
        dry_run: bool = False,
    ) -> Entry:
        old = entry.obj
        if status:
            new = dict(old)
            new["metadata"] = dict(old["metadata"])
            if "status" in incoming:
                new["status"] = incoming["status"]
            else:
                new.pop("status", None)
        else:
            new = incoming
            new["apiVersion"] = old.get("apiVersion", resource.api_version)
            new["kind"] = resource.kind
            metadata = new["metadata"] = meta.clean(new["metadata"])
            old_meta = old["metadata"]
            for field in meta.SERVER_FIELDS:
                if field in old_meta:
                    metadata[field] = old_meta[field]
                else:
                    metadata.pop(field, None)
            metadata.pop("managedFields", None)
            if old_meta.get("namespace"):
                metadata["namespace"] = old_meta["namespace"]
            if resource.status_subresource:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
        return self._write(resource, entry, new, validate_rules=validate_rules, dry_run=dry_run)

    def _write(
        self,
        resource: ResourceType,
        entry: Entry,
        new: dict[str, Any],
        *,
        validate_rules: bool = True,
        dry_run: bool = False,
    ) -> Entry:
        old = entry.obj
        metadata = new["metadata"]
        old_meta = old["metadata"]
        if old_meta.get("deletionTimestamp"):
            added = set(metadata.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise invalid(
                    resource.kind,
                    resource.group,
                    old_meta["name"],
                    [
                        field_forbidden(
                            "metadata.finalizers",
                            "no new finalizers can be added if the object is being deleted, "
                            f"found new finalizers {sorted(added)}",
                        )
                    ],
                )
        self._prepare(resource, new, entry)
        if validate_rules:
            self._validate(resource, new, old, validate_rules=True)
        metadata["resourceVersion"] = old_meta["resourceVersion"]
        if "generation" in old_meta:
            metadata["generation"] = old_meta["generation"]
        if new == old and _json_identical(new, old):
            return entry
        if "generation" in old_meta and _content_changed(resource, new, old):
            metadata["generation"] += 1
        if dry_run:
            self._pending_crd = None
            return Entry(new, entry.rv)
        if old_meta.get("deletionTimestamp") and not self._has_finalizers(resource, new):
            # Like kube-apiserver, the write that releases the last finalizer deletes instead of
            # storing: watchers see one DELETED carrying the last stored version, and the writer
            # gets the object as it wrote it, at the resourceVersion it had.
            self._pending_crd = None
            self._remove(resource, entry)
            return Entry(new, entry.rv)
        previous, stored = self.store.update(resource.resource_id, new)
        self._publish(resource, MODIFIED, stored, previous)
        self._after_write(resource, stored)
        return stored

    # --- delete ---------------------------------------------------------------------------

    def delete(
        self, resource: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> Deletion:
        entry = self.get(resource, namespace, name)
        metadata = entry.metadata
        if options.uid is not None and options.uid != metadata["uid"]:
            raise conflict(
                resource.plural,
                resource.group,
                name,
                f"Precondition failed: UID in precondition: {options.uid}, UID in object meta: "
                f"{metadata['uid']}",
            )
        if (
            options.resource_version is not None
            and options.resource_version != metadata["resourceVersion"]
        ):
            raise conflict(
                resource.plural,
                resource.group,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{options.resource_version}, ResourceVersion in object meta: "
                f"{metadata['resourceVersion']}",
            )
        if metadata.get("deletionTimestamp"):
            return Deletion(entry, gone=False)
        new = entry.copy()
        dry_run = options.dry_run
        finalizers = _deletion_finalizers(metadata.get("finalizers") or (), options.propagation)
        if resource.resource_id == CRD_RESOURCE and crd.CLEANUP_FINALIZER not in finalizers:
            # Its objects go first: the CRD registry adds the cleanup finalizer on delete.
            finalizers.append(crd.CLEANUP_FINALIZER)
        new["metadata"]["finalizers"] = finalizers
        if not finalizers:
            del new["metadata"]["finalizers"]
        if not self._has_finalizers(resource, new):
            return Deletion(entry if dry_run else self._remove(resource, entry), gone=True)
        new_meta = new["metadata"]
        new_meta["deletionTimestamp"] = self.now()
        new_meta["deletionGracePeriodSeconds"] = 0
        self._prepare(resource, new, entry)
        new_meta["resourceVersion"] = metadata["resourceVersion"]
        if metadata.get("generation", 0) > 0:
            new_meta["generation"] = metadata["generation"] + 1
        if dry_run:
            self._pending_crd = None
            return Deletion(Entry(new, entry.rv), gone=False)
        previous, stored = self.store.update(resource.resource_id, new)
        self._publish(resource, MODIFIED, stored, previous)
        self._after_write(resource, stored)
        return Deletion(stored, gone=False)

    def deletion_answer(
        self, resource: ResourceType, deletion: Deletion, options: DeleteOptions
    ) -> tuple[int, bytes]:
        """The HTTP status and body kube-apiserver answers a delete with.

        An object that went at once is answered with a Status naming it, except for the types
        whose registry returns the deleted object (pods, namespaces, serviceaccounts); one
        waiting for finalizers with itself, 202 when `orphanDependents: false` was sent.
        """
        entry = deletion.entry
        if not deletion.gone:
            code = 202 if options.orphan_dependents is False else 200
            return code, self.render(resource, entry)
        if resource.returns_deleted_object:
            return 200, self.render(resource, entry)
        details: dict[str, Any] = {"name": entry.metadata["name"]}
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
        details["uid"] = entry.metadata["uid"]
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }
        return 200, dumps(status)

    def delete_collection(
        self,
        resource: ResourceType,
        namespace: str | None,
        query: dict[str, str],
        options: DeleteOptions,
    ) -> bytes:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), resource.field_selectors)
        deleted = []
        for entry in self._current(resource, namespace, labels, fields):
            metadata = entry.metadata
            namespace_of = metadata.get("namespace", "")
            deleted.append(self.delete(resource, namespace_of, metadata["name"], options).entry)
        head = dumps(
            {
                "apiVersion": resource.api_version,
                "kind": resource.list_kind,
                "metadata": {"resourceVersion": str(self.store.revision)},
            }
        )
        return (
            head[:-1] + b',"items":[' + b",".join(self.render(resource, e) for e in deleted) + b"]}"
        )

    def _remove(self, resource: ResourceType, entry: Entry) -> Entry:
        metadata = entry.metadata
        previous, final = self.store.delete(
            resource.resource_id, metadata.get("namespace", ""), metadata["name"]
        )
        self._publish(resource, DELETED, final, previous)
        if resource.resource_id == CRD_RESOURCE:
            self._compiled_crds.pop(metadata["name"], None)
            removed = self.registry.unregister_crd(metadata["name"])
            for gone in removed:
                self.hub.close_resource(gone.resource_id)
                self.hub.window.forget_history(gone.resource_id)
        return final

    def _has_finalizers(self, resource: ResourceType, obj: dict[str, Any]) -> bool:
        if obj["metadata"].get("finalizers"):
            return True
        return resource.resource_id == NAMESPACES and bool(
            (obj.get("spec") or {}).get("finalizers")
        )

    # --- internal writes (garbage collector, cleanups) ------------------------------------

    def remove_finalizer(self, resource: ResourceType, entry: Entry, finalizer: str) -> None:
        new = entry.copy()
        finalizers = [f for f in new["metadata"].get("finalizers") or () if f != finalizer]
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        else:
            new["metadata"].pop("finalizers", None)
        if resource.resource_id == NAMESPACES and finalizer == NAMESPACE_FINALIZER:
            new.setdefault("spec", {})["finalizers"] = []
        self._write(resource, entry, new, validate_rules=False)

    def remove_owner_references(self, resource: ResourceType, entry: Entry, uids: set[str]) -> None:
        new = entry.copy()
        refs = [r for r in new["metadata"].get("ownerReferences") or () if r.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._write(resource, entry, new, validate_rules=False)

    # --- helpers --------------------------------------------------------------------------

    def _publish(
        self, resource: ResourceType, type_: str, entry: Entry, previous: Entry | None
    ) -> None:
        self.hub.publish(Event(resource.resource_id, type_, entry, previous))

    def _decode(self, resource: ResourceType, body: Any, namespace: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        api_version = body.get("apiVersion")
        if api_version and api_version != resource.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({resource.api_version})"
            )
        kind = body.get("kind")
        if kind and kind != resource.kind:
            if resource.is_custom:
                # The custom resource strategy validates `kind` like any field.
                name = (body.get("metadata") or {}).get("name", "")
                cause = field_invalid("kind", kind, f"must be {resource.kind}")
                raise invalid(str(kind), resource.group, str(name), [cause])
            raise bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
            )
        body["apiVersion"] = resource.api_version
        body["kind"] = resource.kind
        metadata = body.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        metadata = body["metadata"] = meta.clean(metadata)
        if resource.namespaced:
            body_namespace = metadata.get("namespace")
            if body_namespace and body_namespace != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        return body

    def _require_namespace(self, namespace: str, creating: bool) -> None:
        entry = self.store.get(NAMESPACES, "", namespace)
        if entry is None:
            raise not_found("namespaces", "", namespace)
        if creating and entry.metadata.get("deletionTimestamp"):
            raise forbidden(
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                "namespaces",
                "",
                namespace,
            )

    def _require_established(self, resource: ResourceType) -> None:
        if resource.crd_name is None:
            return
        definition = self.store.get(CRD_RESOURCE, "", resource.crd_name)
        if definition is not None and definition.metadata.get("deletionTimestamp"):
            raise method_not_allowed(
                "create not allowed while custom resource definition is terminating"
            )

    def _prepare(self, resource: ResourceType, obj: dict[str, Any], old: Entry | None) -> None:
        """Type-specific server behaviour before validation (namespaces, CRDs)."""
        resource_id = resource.resource_id
        if resource_id == NAMESPACES:
            metadata = obj["metadata"]
            labels = metadata.get("labels")
            if labels is None or isinstance(labels, dict):
                metadata["labels"] = {
                    **(labels or {}),
                    "kubernetes.io/metadata.name": metadata["name"],
                }
            spec = obj.get("spec")
            spec = obj["spec"] = dict(spec) if isinstance(spec, dict) else {}
            if old is None:
                # Like the real namespace strategy: always there on create, so that deletion
                # empties the namespace first.
                finalizers = list(spec.get("finalizers") or ())
                if NAMESPACE_FINALIZER not in finalizers:
                    finalizers.append(NAMESPACE_FINALIZER)
                spec["finalizers"] = finalizers
            phase = "Terminating" if metadata.get("deletionTimestamp") else "Active"
            obj["status"] = {"phase": phase}
        elif resource_id == CRD_RESOURCE:
            self._prepare_crd(obj, old)

    def _prepare_crd(self, obj: dict[str, Any], old: Entry | None) -> None:
        if isinstance(obj.get("spec"), dict):
            obj["spec"] = copy.deepcopy(obj["spec"])  # defaults below must not touch shared data
        crd.apply_defaults(obj)
        compiled, causes = crd.compile_crd(obj)
        name = obj["metadata"].get("name", "")
        if compiled is None:
            raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)
        if old is None:
            obj["status"] = crd.initial_status(obj)
        else:
            obj["status"] = crd.maintained_status(obj, self.now(), obj.get("status"))
        self._pending_crd = compiled

    def _after_write(self, resource: ResourceType, entry: Entry) -> None:
        """A CRD's types are served once it is Established (crd_controller.py establishes
        it), and follow its later writes at once."""
        if resource.resource_id == CRD_RESOURCE and self._pending_crd is not None:
            compiled, self._pending_crd = self._pending_crd, None
            if compiled.name != entry.metadata["name"]:
                return
            self._compiled_crds[compiled.name] = compiled
            if crd.condition_status(entry.obj.get("status"), "Established") == "True":
                known = {r.resource_id for r in self.registry.crd_types(compiled.name)}
                self.registry.register_crd(compiled.name, compiled.resources, compiled.storage)
                for served in compiled.resources:
                    if served.resource_id not in known:
                        # Its history starts now, like the watch cache kube-apiserver starts.
                        self.hub.window.start_history(served.resource_id, self.store.revision)

    def write_crd_status(self, entry: Entry, status: dict[str, Any]) -> Entry:
        """The apiextensions controllers' status write (crd_controller.py)."""
        return self._update(self.crds, entry, {"status": status}, True, validate_rules=False)

    def _validate(
        self,
        resource: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        *,
        validate_rules: bool,
    ) -> None:
        metadata = obj["metadata"]
        previous: Any = MISSING if old is None else old
        causes: list[Cause] = []
        if resource.resource_id != CORE_EVENTS:
            # core/v1 Events skip ObjectMeta validation, for old clients (legacyValidateEvent).
            causes = meta.validate(
                metadata,
                resource.resource_id == NAMESPACES,
                None if old is None else old["metadata"],
                core_finalizers=not resource.is_custom and not resource.group,
            )
        schema = resource.schema
        if schema is not None:
            prune_and_default(obj, schema, previous)
            schema_causes = validate_schema(obj, schema, previous)
            causes.extend(schema_causes)
            if validate_rules and schema.has_rules:
                blocked = rules_not_checked(schema_causes)
                causes.extend([blocked] if blocked else cel.validate(obj, previous, schema))
        if resource.validator is not None:
            causes.extend(resource.validator(obj))
        if causes:
            raise invalid(resource.kind, resource.group, metadata.get("name", ""), causes)


def _deletion_finalizers(current: Any, propagation: str | None) -> list[str]:
    """The finalizers a delete leaves on the object: an asked-for propagation policy replaces
    the garbage collector's `orphan`/`foregroundDeletion` (even without dependents, as
    kube-apiserver does); without one the object's own stay."""
    finalizers = list(current)
    if propagation is None:
        return finalizers
    finalizers = [f for f in finalizers if f not in (FOREGROUND, ORPHAN)]
    if propagation == "Foreground":
        finalizers.append(FOREGROUND)
    elif propagation == "Orphan":
        finalizers.append(ORPHAN)
    return finalizers


def _content_changed(resource: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> bool:
    skip = ("metadata", "status") if resource.status_subresource else ("metadata",)
    for key in new.keys() | old.keys():
        if key not in skip and new.get(key, MISSING) != old.get(key, MISSING):
            return True
    return False


def _json_identical(left: Any, right: Any) -> bool:
    """Equality that, unlike `==`, tells true from 1 and 1 from 1.0."""
    if left is right:
        return True
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(
            _json_identical(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list):
        return len(left) == len(right) and all(
            _json_identical(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


def _non_negative_int(value: str | None) -> int:
    if value is None or value == "":
        return 0
    return max(parse_int64(value), 0)


def parse_resource_version(value: str, prefix: str) -> int:
    """A resourceVersion as kube-apiserver parses it (an unsigned integer), or its 400."""
    if not re.fullmatch(r"[0-9]+", value) or int(value) >= 2**64:
        reason = "invalid syntax" if not re.fullmatch(r"[0-9]+", value) else "value out of range"
        raise bad_request(
            f'{prefix}resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing '
            f'"{value}": {reason}'
        )
    return int(value)


RESOURCE_VERSION_MATCHES = ("Exact", "NotOlderThan", "")


def list_resource_version(query: dict[str, str], current: int) -> int | None:
    """The revision an `Exact` list reads at; None for the latest state. Checks the list's
    resourceVersion and resourceVersionMatch as kube-apiserver does (400, 422)."""
    requested = query.get("resourceVersion", "")
    match = query.get("resourceVersionMatch", "")
    if match not in RESOURCE_VERSION_MATCHES:
        supported = ", ".join(f'"{value}"' for value in RESOURCE_VERSION_MATCHES)
        raise _invalid_list_options(
            Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{match}": supported values: {supported}',
                "resourceVersionMatch",
            )
        )
    if match and not requested:
        detail = "resourceVersionMatch is forbidden unless resourceVersion is provided"
        raise _invalid_list_options(field_forbidden("resourceVersionMatch", detail))
    if match == "Exact" and requested == "0":
        detail = 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
        raise _invalid_list_options(field_forbidden("resourceVersionMatch", detail))
    if not requested:
        return None
    revision = parse_resource_version(requested, "invalid resource version: ")
    if revision > current:
        raise too_large_resource_version(revision, current)
    return revision if match == "Exact" else None


def too_large_resource_version(revision: int, current: int) -> ApiError:
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {revision}, current: {current}",
        causes=[Cause("ResourceVersionTooLarge", "Too large resource version", "")],
        retry_after=1,
    )


def _invalid_list_options(cause: Cause) -> ApiError:
    return invalid("ListOptions", "meta.k8s.io", "", [cause])


def _encode_continue(revision: int, last: tuple[str, str]) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": list(last)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    invalid_token = "invalid continue token: continue key is not valid"
    if not re.fullmatch(r"[A-Za-z0-9_-]*", token) or len(token) % 4 == 1:
        position = next(
            (i for i, c in enumerate(token) if not re.fullmatch(r"[A-Za-z0-9_-]", c)),
            len(token) - 1,
        )
        raise bad_request(f"{invalid_token}: illegal base64 data at input byte {position}")
    try:
        data = go_json.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (go_json.SyntaxFailure, go_json.NumberOverflow, binascii.Error) as error:
        raise bad_request(f"{invalid_token}: {getattr(error, 'message', error)}") from None
    try:
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise bad_request(f"{invalid_token}: incorrect encoded start resourceVersion") from None


__all__ = ["ApiError", "DeleteOptions", "Deletion", "ResourceVerbs"]
