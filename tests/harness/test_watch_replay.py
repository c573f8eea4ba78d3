"""A state the operator sets and clears before the harness's watch begins is still seen.

Under load the harness can start watching a ComputeInstance only after the operator has already
set RestartFailed=True and cleared it again (a restart requested before the VM existed, which
then succeeded). The watches start from a resourceVersion read before the create, so the API
server replays that blip; watching from a list taken after the create would miss it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from harness.clients.drivers import CrDriver
from harness.clients.fulfillment_api import InstanceSpec
from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import VMI, instance_resource
from harness.config import Settings, load_settings
from harness.contract.profiles import DEFAULT_PROFILE, get_profile
from harness.plugin.cleanup import finish_cleanup
from harness.reference.crds import crd_file, crd_paths
from harness.testkit.instance import ComputeInstanceUnderTest, HarnessContext
from harness.testkit.timeline import Timeline
from harness.testkit.watchers import ResourceWatcher

BLIP = "RestartFailed"


def restart_failed(status: str) -> dict[str, Any]:
    return {
        "type": BLIP,
        "status": status,
        "reason": "NoVMReference" if status == "True" else "RestartSucceeded",
        "message": "blip",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


class FastOperatorDriver:
    """The CR driver, then what a fast operator does before create() returns and the harness
    starts watching: RestartFailed=True, then RestartFailed=False."""

    mode = "cr"

    def __init__(self, inner: CrDriver) -> None:
        self.inner = inner

    def create(
        self,
        spec: InstanceSpec,
        restart_requested_at: datetime | None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        inner = self.inner
        instance_id = inner.create(spec, restart_requested_at, labels)
        items, _ = inner.kube.list(
            inner.resource, inner.namespace, f"{inner.profile.uuid_label}={instance_id}"
        )
        name = items[0]["metadata"]["name"]
        for status in ("True", "False"):
            inner.kube.custom.patch_namespaced_custom_object_status(
                inner.resource.group,
                inner.resource.version,
                inner.namespace,
                inner.resource.plural,
                name,
                {"status": {"conditions": [restart_failed(status)]}},
            )
        return instance_id


def condition_history(instance: ComputeInstanceUnderTest) -> list[str]:
    return [
        condition["status"]
        for observation in instance.cr_observations()
        for condition in (observation.object.get("status") or {}).get("conditions", [])
        if condition["type"] == BLIP
    ]


def start_with_profile_crds(start_apiserver) -> tuple[Settings, KubeClient]:
    server = start_apiserver(crds=crd_paths(get_profile(DEFAULT_PROFILE)))
    settings = load_settings(
        {"--target": "cluster", "--kubeconfig": str(server.kubeconfig), "--via": "cr"},
        {"HARNESS_TENANT": "tenant-a"},
    )
    kube = KubeClient.from_kubeconfig(server.kubeconfig)
    kube.core.create_namespace({"metadata": {"name": settings.namespace}})
    return settings, kube


@pytest.fixture
def context(start_apiserver):
    settings, kube = start_with_profile_crds(start_apiserver)
    driver = CrDriver(kube, settings.profile, settings.namespace, "tenant-a")
    yield HarnessContext(settings=settings, kube=kube, api=None, driver=FastOperatorDriver(driver))
    kube.close()


def provision(context: HarnessContext) -> ComputeInstanceUnderTest:
    """Create; no wait after it: create() returns once the timeline holds the CR as it is."""
    instance = ComputeInstanceUnderTest(context, InstanceSpec())
    instance.create()
    return instance


def test_a_condition_set_and_cleared_before_the_watch_began_is_in_the_history(context):
    instance = provision(context)
    try:
        assert condition_history(instance) == ["True", "False"]
    finally:
        finish_cleanup(instance, 0, wait=False)


def test_without_the_version_from_before_the_create_the_blip_is_lost(context, monkeypatch):
    """The control: the test above fails when the watch starts from a list instead."""
    monkeypatch.setattr(ComputeInstanceUnderTest, "_version_before_create", lambda self: "")
    instance = provision(context)
    try:
        assert condition_history(instance) == ["False"]
    finally:
        finish_cleanup(instance, 0, wait=False)


def vmi(name: str) -> dict[str, Any]:
    return {
        "apiVersion": VMI.api_version,
        "kind": VMI.kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"domain": {"devices": {}}},
    }


def test_objects_unchanged_since_the_version_are_listed_and_later_ones_replayed(
    start_apiserver,
):
    server = start_apiserver(crds=[crd_file("kubevirt.io", "virtualmachineinstances")])
    kube = KubeClient.from_kubeconfig(server.kubeconfig)
    try:
        kube.create(VMI, "default", vmi("vmi-before"))
        since = kube.collection_version(VMI, "default")
        kube.create(VMI, "default", vmi("vmi-after"))
        timeline = Timeline()
        watcher = ResourceWatcher(kube, VMI, "default", timeline, since=since).start()
        try:  # no wait: start() returned with both in the timeline
            assert sorted((o.name, o.event) for o in timeline.observations()) == [
                ("vmi-after", "ADDED"),
                ("vmi-before", "LISTED"),
            ]
        finally:
            watcher.stop()
    finally:
        kube.close()


def test_a_version_the_server_has_forgotten_falls_back_to_listing(start_apiserver):
    server = start_apiserver(
        crds=[crd_file("kubevirt.io", "virtualmachineinstances")],
        extra_args=["--watch-window", "2"],
    )
    kube = KubeClient.from_kubeconfig(server.kubeconfig)
    try:
        since = kube.collection_version(VMI, "default")
        for index in range(5):  # more changes than the server keeps for replay
            kube.create(VMI, "default", vmi(f"vmi-{index}"))
        timeline = Timeline()
        watcher = ResourceWatcher(kube, VMI, "default", timeline, since=since).start()
        try:  # no wait: start() returned with all five in the timeline
            assert sorted(name for _, name in timeline.current(VMI.kind)) == [
                f"vmi-{index}" for index in range(5)
            ]
        finally:
            watcher.stop()
    finally:
        kube.close()


def test_the_collection_version_is_the_servers_current_one(start_apiserver):
    settings, kube = start_with_profile_crds(start_apiserver)
    try:
        resource = instance_resource(settings.profile)
        before = int(kube.collection_version(resource, settings.namespace))
        kube.create(VMI, "default", vmi("vmi-a"))  # another collection: the version is global
        after = int(kube.collection_version(resource, settings.namespace))
        assert after > before
    finally:
        kube.close()
