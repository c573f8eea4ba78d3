"""Watch semantics of the embedded API server: events, resume, bookmarks, selector transitions and
expiry (docs/embedded-stack.md)."""

from __future__ import annotations

import threading
import time

from kubernetes import client, watch

from .helpers import (
    GROUP,
    READ_TIMEOUT,
    VERSION,
    WATCH_WINDOW,
    WIDGETS,
    api_error,
    unique,
    watch_events,
    widget,
)


def _create(custom, namespace, body):
    return custom.create_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, body)


def _patch(custom, namespace, name, body):
    return custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name, body)


def _list(custom, namespace, **kwargs):
    return custom.list_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, **kwargs)


def _no_bookmarks(events):
    return [event for event in events if event["type"] != "BOOKMARK"]


def test_watch_rv_events_timeout(custom, namespace):
    label = unique("w")
    start_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    body = widget(unique("watched"))
    body["metadata"]["labels"] = {"w": label}
    created = _create(custom, namespace, body)
    name = created["metadata"]["name"]
    patched = _patch(custom, namespace, name, {"spec": {"size": 5}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
    began = time.monotonic()
    events = _no_bookmarks(
        watch_events(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            resource_version=start_rv,
            label_selector=f"w={label}",
            timeout=1,
        )
    )
    elapsed = time.monotonic() - began
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    assert rvs[0] == int(created["metadata"]["resourceVersion"])
    assert rvs[1] == int(patched["metadata"]["resourceVersion"])
    assert 0.8 <= elapsed < 3, f"timeoutSeconds=1 closed the stream after {elapsed:.2f} s"


def test_watch_without_rv_initial_added(custom, namespace):
    label = unique("init")
    names = set()
    for _ in range(3):
        body = widget(unique("i"))
        body["metadata"]["labels"] = {"init": label}
        names.add(_create(custom, namespace, body)["metadata"]["name"])
    seen: list[dict] = []

    def live_create(events):
        if len(events) == 3:
            body = widget(unique("i"))
            body["metadata"]["labels"] = {"init": label}
            names.add(_create(custom, namespace, body)["metadata"]["name"])
        return len(_no_bookmarks(events)) >= 4

    seen = watch_events(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        label_selector=f"init={label}",
        until=live_create,
    )
    seen = _no_bookmarks(seen)
    assert [e["type"] for e in seen] == ["ADDED"] * 4
    assert {e["object"]["metadata"]["name"] for e in seen} == names


def test_watch_410_gone(server, custom, namespace):
    old_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    first = _list(custom, namespace, limit=1)
    if not server.embedded:
        old_rv = "1"  # long compacted on any real cluster; no churn needed
    else:
        name = unique("churn")
        _create(custom, namespace, widget(name))
        for size in range(WATCH_WINDOW + 5):
            _patch(custom, namespace, name, {"spec": {"size": size % 10 + 1}})
    stream = watch.Watch()
    error = api_error(
        lambda: list(
            stream.stream(
                custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                WIDGETS,
                resource_version=old_rv,
                timeout_seconds=2,
                _request_timeout=READ_TIMEOUT,
            )
        )
    )
    assert error.status == 410
    if first["metadata"].get("continue") and server.embedded:
        expired = api_error(
            _list, custom, namespace, limit=1, _continue=first["metadata"]["continue"]
        )
        assert expired.status == 410


def test_watch_bookmarks(server, custom, namespace):
    label = unique("bm")
    start_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    body = widget(unique("b"))
    body["metadata"]["labels"] = {"bm": label}
    _create(custom, namespace, body)
    events = watch_events(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        resource_version=start_rv,
        label_selector=f"bm={label}",
        allow_watch_bookmarks=True,
        timeout=1,
    )
    assert events[0]["type"] == "ADDED"
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    if server.embedded:
        assert bookmarks, "the embedded server sends a bookmark every 0.5 s in these tests"
    for bookmark in bookmarks:
        obj = bookmark["raw_object"]
        assert set(obj) == {"kind", "apiVersion", "metadata"}
        assert set(obj["metadata"]) == {"resourceVersion"}
        assert int(obj["metadata"]["resourceVersion"]) >= int(
            events[0]["object"]["metadata"]["resourceVersion"]
        )


def test_concurrent_watchers(custom, namespace):
    label = unique("cw")
    start_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    results: dict[int, list[str]] = {}
    ready = threading.Barrier(4, timeout=READ_TIMEOUT)

    def watcher(index: int) -> None:
        stream = watch.Watch()
        names: list[str] = []
        ready.wait()
        for event in stream.stream(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            resource_version=start_rv,
            label_selector=f"cw={label}",
            timeout_seconds=5,
            _request_timeout=READ_TIMEOUT,
        ):
            if event["type"] == "ADDED":
                names.append(event["object"]["metadata"]["name"])
            if len(names) >= 5:
                stream.stop()
                break
        results[index] = names

    threads = [threading.Thread(target=watcher, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    ready.wait()
    created = []
    for _ in range(5):
        body = widget(unique("c"))
        body["metadata"]["labels"] = {"cw": label}
        created.append(_create(custom, namespace, body)["metadata"]["name"])
    for thread in threads:
        thread.join(timeout=READ_TIMEOUT)
    assert results == {0: created, 1: created, 2: created}


def test_watch_selector_transitions(custom, namespace):
    label = unique("tr")
    start_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    name = unique("t")
    _create(custom, namespace, widget(name))
    _patch(custom, namespace, name, {"metadata": {"labels": {"tr": label}}})
    _patch(custom, namespace, name, {"spec": {"size": 2}})
    moved_out = _patch(custom, namespace, name, {"metadata": {"labels": {"tr": "other"}}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
    marker = widget(unique("marker"))
    marker["metadata"]["labels"] = {"tr": label}
    marker_name = _create(custom, namespace, marker)["metadata"]["name"]
    events = _no_bookmarks(
        watch_events(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            resource_version=start_rv,
            label_selector=f"tr={label}",
            until=lambda events: events[-1]["object"]["metadata"]["name"] == marker_name,
        )
    )
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED", "ADDED"], (
        "deleting an object outside the selector is not an event for this watcher"
    )
    leaving = events[2]["object"]
    assert leaving["metadata"]["labels"] == {"tr": label}, "DELETED carries the last matching state"
    assert leaving["metadata"]["resourceVersion"] == moved_out["metadata"]["resourceVersion"]


def test_watch_cluster_wide_and_namespaces(core, custom, namespace):
    start_rv = core.list_namespace().metadata.resource_version
    name = unique("nsw")
    core.create_namespace({"metadata": {"name": name}})
    events = watch_events(
        core.list_namespace,
        resource_version=start_rv,
        field_selector=f"metadata.name={name}",
        timeout=2,
        until=lambda events: any(e["type"] == "ADDED" for e in events),
    )
    added = [e for e in events if e["type"] == "ADDED"]
    assert isinstance(added[0]["object"], client.V1Namespace)
    assert added[0]["object"].status.phase == "Active"


def test_replayed_versions_are_as_written(custom, namespace):
    start_rv = _list(custom, namespace)["metadata"]["resourceVersion"]
    name = unique("v")
    written = [_create(custom, namespace, widget(name, tags=["a"]))]
    written.append(_patch(custom, namespace, name, {"spec": {"size": 4, "mode": None}}))
    written.append(_patch(custom, namespace, name, {"metadata": {"labels": {"k": "v"}}}))
    written.append(
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, WIDGETS, name, {"status": {"phase": "Ready"}}
        )
    )
    written.append(
        _patch(custom, namespace, name, {"spec": {"tags": ["b"], "options": {"retries": 9}}})
    )
    events = _no_bookmarks(
        watch_events(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            resource_version=start_rv,
            field_selector=f"metadata.name={name}",
            until=lambda events: len(_no_bookmarks(events)) == len(written),
        )
    )
    assert [event["object"] for event in events] == written, "later writes never alter old versions"
