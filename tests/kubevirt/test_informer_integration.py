"""The shared informer against the embedded API server: sync, events, resume, 410 re-list."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from harness.contract.profiles import OSAC
from harness.reference.component_client import (
    ADDED,
    DELETED,
    MODIFIED,
    Informer,
    Resource,
    has_status_subresource,
    translated_errors,
)
from harness.reference.stack import TENANT
from tests.kubevirt.cluster import api_server

pytestmark = [pytest.mark.slow]
G, V, PLURAL = "kubevirt.io", "v1", "virtualmachines"
WINDOW = 5


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[k8s.ApiClient]:
    workdir = tmp_path_factory.mktemp("informer")
    with api_server(workdir, OSAC, ["--watch-window", str(WINDOW)]) as server:
        yield server.client()


def create(custom: k8s.CustomObjectsApi, name: str, labels: dict | None = None) -> dict:
    body = {
        "apiVersion": f"{G}/{V}",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": TENANT, "labels": labels or {}},
        "spec": {"runStrategy": "Halted"},
    }
    with translated_errors():
        return custom.create_namespaced_custom_object(G, V, TENANT, PLURAL, body)


def delete(custom: k8s.CustomObjectsApi, name: str) -> None:
    with translated_errors():
        custom.delete_namespaced_custom_object(G, V, TENANT, PLURAL, name)


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, kind: str, obj: dict, _previous: dict | None) -> None:
        with self.lock:
            self.seen.append((kind, obj["metadata"]["name"]))

    def of(self, name: str) -> list[str]:
        with self.lock:
            return [kind for kind, n in self.seen if n == name]


def test_status_subresource_discovery(api):
    assert has_status_subresource(api, G, V, "virtualmachines") is True
    assert has_status_subresource(api, G, V, "virtualmachineinstances") is False


def test_events_and_label_selector(api):
    custom = k8s.CustomObjectsApi(api)
    create(custom, "inf-before", {"pick": "yes"})
    events = Events()
    informer = Informer(api, Resource(G, V, PLURAL, TENANT, "pick"), watch_timeout=5)
    informer.add_handler(events)
    informer.start()
    try:
        assert informer.wait_synced(10)
        assert events.of("inf-before") == [ADDED]
        create(custom, "inf-other")  # no label: filtered by the server
        create(custom, "inf-after", {"pick": "yes"})
        with translated_errors():
            custom.patch_namespaced_custom_object(
                G, V, TENANT, PLURAL, "inf-after", {"spec": {"runStrategy": "Always"}}
            )
        delete(custom, "inf-before")
        assert informer.wait_for(lambda: informer.get(TENANT, "inf-before") is None, 10)
        assert informer.wait_for(lambda: MODIFIED in events.of("inf-after"), 10)
        assert events.of("inf-after")[:2] == [ADDED, MODIFIED]
        assert events.of("inf-before") == [ADDED, DELETED]
        assert events.of("inf-other") == []
        assert informer.get(TENANT, "inf-after")["spec"]["runStrategy"] == "Always"
    finally:
        informer.stop()
    assert informer._thread is not None and not informer._thread.is_alive()


def test_dropped_stream_resumes_and_expired_version_relists(api):
    custom = k8s.CustomObjectsApi(api)
    create(custom, "gap-keep", {"gap": "1"})
    create(custom, "gap-gone", {"gap": "1"})
    events = Events()
    informer = Informer(api, Resource(G, V, PLURAL, TENANT, "gap"), watch_timeout=30)
    informer.add_handler(events)
    gate = threading.Event()
    calls = {"watch": 0, "list": 0}
    original = informer._list_call

    def gated(**kwargs):
        if kwargs.get("watch"):
            calls["watch"] += 1
            if calls["watch"] == 2:  # the reconnect after the drop waits for the gap
                assert gate.wait(20)
        else:
            calls["list"] += 1
        return original(**kwargs)

    informer._list_call = gated  # type: ignore[method-assign]
    informer.start()
    try:
        assert informer.wait_synced(10)
        assert informer.wait_for(lambda: informer._response is not None, 10)
        informer._response.shutdown()  # the connection drops
        assert informer.wait_for(lambda: calls["watch"] >= 2, 10)
        # While disconnected: more changes than the server's watch window keeps.
        delete(custom, "gap-gone")
        for index in range(WINDOW + 3):
            create(custom, f"gap-new-{index}", {"gap": "1"})
        gate.set()
        names = {"gap-keep", *(f"gap-new-{i}" for i in range(WINDOW + 3))}
        assert informer.wait_for(
            lambda: {o["metadata"]["name"] for o in informer.items()} == names, 15
        )
        assert calls["list"] >= 2, "expected a re-list after 410 Expired"
        assert events.of("gap-gone") == [ADDED, DELETED]
        assert events.of(f"gap-new-{WINDOW + 2}") == [ADDED]
        # And it keeps watching after the re-list.
        create(custom, "gap-late", {"gap": "1"})
        assert informer.wait_for(lambda: informer.get(TENANT, "gap-late") is not None, 10)
    finally:
        gate.set()
        informer.stop()
