"""Shared watches: many timelines fed by one watch per kind and namespace, each told exactly what
a private watch from its own `since` would have told it."""

from __future__ import annotations

from typing import Any

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import VMI
from harness.reference.crds import crd_file
from harness.testkit.timeline import Timeline
from harness.testkit.watch_hub import Selector, Subscription, WatchHub
from harness.testkit.watchers import ResourceWatcher


def vmi(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": VMI.api_version,
        "kind": VMI.kind,
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"domain": {"devices": {}}},
    }


def start(start_apiserver, *extra: str) -> KubeClient:
    server = start_apiserver(
        crds=[crd_file("kubevirt.io", "virtualmachineinstances")], extra_args=list(extra)
    )
    return KubeClient.from_kubeconfig(server.kubeconfig)


def counting_watches(kube: KubeClient) -> list[str]:
    """The watch calls `kube` makes from now on (their resource and selectors)."""
    calls: list[str] = []
    watch = kube.watch

    def counted(resource, namespace, *args, **kwargs):
        calls.append(f"{resource.plural} in {namespace} {args} {kwargs.get('field_selector')}")
        return watch(resource, namespace, *args, **kwargs)

    kube.watch = counted
    return calls


def events(timeline: Timeline) -> list[tuple[str, str]]:
    return [(o.name, o.event) for o in timeline.observations()]


def test_many_subscriptions_share_one_watch_and_each_sees_only_its_objects(
    start_apiserver,
):
    kube = start(start_apiserver)
    calls = counting_watches(kube)
    hub = WatchHub(kube, kube.collection_version(VMI, "default"))
    try:
        timelines = {f"vmi-{n}": Timeline() for n in range(8)}
        for name, timeline in timelines.items():
            since = kube.collection_version(VMI, "default")
            kube.create(VMI, "default", vmi(name))
            field = f"metadata.name={name}"
            subscription = hub.watch(VMI, "default", timeline, field_selector=field, since=since)
            assert isinstance(subscription, Subscription)
        kube.delete(VMI, "default", "vmi-3")
        assert timelines["vmi-3"].wait(lambda: len(timelines["vmi-3"].observations()) == 2, 10)
        for name, timeline in timelines.items():
            expected = [(name, "ADDED")] + ([(name, "DELETED")] if name == "vmi-3" else [])
            assert events(timeline) == expected
        assert hub.private == 0
        assert len(calls) == 1, calls  # eight private watches would be eight calls
    finally:
        hub.close()
        kube.close()


def test_a_subscription_replays_from_its_version_and_lists_what_did_not_change(
    start_apiserver,
):
    """As a private watch from `since` does (tests/harness/test_watch_replay.py)."""
    kube = start(start_apiserver)
    hub = WatchHub(kube, kube.collection_version(VMI, "default"))
    try:
        kube.create(VMI, "default", vmi("vmi-before", app="a"))
        since = kube.collection_version(VMI, "default")
        kube.create(VMI, "default", vmi("vmi-after", app="a"))
        kube.create(VMI, "default", vmi("vmi-other", app="b"))
        timeline = Timeline()
        hub.watch(VMI, "default", timeline, label_selector="app=a", since=since)
        # no wait: watch() returned with both in the timeline
        assert sorted(events(timeline)) == [("vmi-after", "ADDED"), ("vmi-before", "LISTED")]
    finally:
        hub.close()
        kube.close()


def test_an_object_that_stops_matching_is_deleted_for_the_subscription(start_apiserver):
    kube = start(start_apiserver)
    hub = WatchHub(kube, kube.collection_version(VMI, "default"))
    try:
        since = kube.collection_version(VMI, "default")
        kube.create(VMI, "default", vmi("vmi-a", app="a"))
        timeline = Timeline()
        hub.watch(VMI, "default", timeline, label_selector="app=a", since=since)
        kube.merge_patch(VMI, "default", "vmi-a", {"metadata": {"labels": {"app": "b"}}})
        assert timeline.wait(lambda: timeline.current(VMI.kind) == {}, 10) is not None
        assert events(timeline) == [("vmi-a", "ADDED"), ("vmi-a", "DELETED")]
    finally:
        hub.close()
        kube.close()


def test_what_the_hub_cannot_replay_gets_a_private_watch(start_apiserver):
    kube = start(start_apiserver)
    older = kube.collection_version(VMI, "default")
    kube.create(VMI, "default", vmi("vmi-a"))
    hub = WatchHub(kube, kube.collection_version(VMI, "default"))
    try:
        kube.create(VMI, "default", vmi("vmi-b"))
        timeline = Timeline()
        watcher = hub.watch(VMI, "default", timeline, since=older)  # before the hub's origin
        assert isinstance(watcher, ResourceWatcher)
        assert sorted(events(timeline)) == [("vmi-a", "ADDED"), ("vmi-b", "ADDED")]
        assert hub.private == 1
        other = hub.watch(VMI, "default", Timeline(), label_selector="app in (a)", since=older)
        assert isinstance(other, ResourceWatcher) and hub.private == 2  # a set-based selector
        watcher.stop()
        other.stop()
    finally:
        hub.close()
        kube.close()


def test_after_the_server_forgot_the_version_the_stream_lists_and_goes_on(
    start_apiserver,
):
    kube = start(start_apiserver, "--watch-window", "2")
    hub = WatchHub(kube, kube.collection_version(VMI, "default"))
    try:
        for index in range(5):  # more changes than the server keeps for replay
            kube.create(VMI, "default", vmi(f"vmi-{index}"))
        since = kube.collection_version(VMI, "default")
        kube.create(VMI, "default", vmi("vmi-late"))
        timeline = Timeline()
        hub.watch(VMI, "default", timeline, field_selector="metadata.name=vmi-late", since=since)
        assert events(timeline) == [("vmi-late", "ADDED")]
    finally:
        hub.close()
        kube.close()


def test_selectors_the_hub_evaluates():
    selector = Selector.parse("a=1,b==2", "metadata.name=x")
    assert selector is not None
    obj = {"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}}
    assert selector.matches(obj)
    assert not selector.matches({"metadata": {"name": "y", "labels": {"a": "1", "b": "2"}}})
    assert not selector.matches({"metadata": {"name": "x", "labels": {"a": "1"}}})
    for labels, fields in (("a!=1", None), ("a in (1)", None), ("!a", None), (None, "spec.x=1")):
        assert Selector.parse(labels, fields) is None
