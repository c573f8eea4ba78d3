"""virt-launcher pods of the simulated KubeVirt (`--launcher-pods`, the real control plane's
setting): one per VMI, labelled and owned as KubeVirt makes them, deleted when the VMI shuts
down; without the flag (the embedded stack) no pod is made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from harness.contract.profiles import LAUNCHER_VMI_LABEL, OSAC
from harness.reference.component_client import translated_errors
from harness.reference.kubevirt.launcher_pods import launcher_pod, pod_name
from harness.reference.stack import TENANT
from tests.kubevirt.cluster import simulator_stack
from tests.kubevirt.test_simulator_integration import G, V, make_vm, phase, uid

Pods = dict[str, dict[str, Any]]


def test_the_pod_is_labelled_and_owned_as_kubevirt_makes_it():
    vmi = {"metadata": {"name": "vm-abc", "namespace": "tenant", "uid": "1234-5678"}}
    pod = launcher_pod(vmi)
    meta = pod["metadata"]
    assert meta["name"] == pod_name("vm-abc", "1234-5678")
    assert meta["name"].startswith("virt-launcher-vm-abc-") and len(meta["name"]) == 26
    assert meta["name"] != pod_name("vm-abc", "another-uid")
    assert meta["namespace"] == "tenant"
    assert meta["labels"] == {
        "kubevirt.io": "virt-launcher",
        "kubevirt.io/created-by": "1234-5678",
        LAUNCHER_VMI_LABEL: "vm-abc",
    }
    (owner,) = meta["ownerReferences"]
    assert owner == {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "name": "vm-abc",
        "uid": "1234-5678",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert [c["name"] for c in pod["spec"]["containers"]] == ["compute"]


def wait_pods(
    core: k8s.CoreV1Api, predicate: Callable[[Pods], bool], what: str, timeout: int = 20
) -> Pods:
    """The namespace's launcher pods once `predicate` holds of them (list, then watch)."""
    selector = "kubevirt.io=virt-launcher"
    listed = core.list_namespaced_pod(TENANT, label_selector=selector)
    pods = {p.metadata.name: core.api_client.sanitize_for_serialization(p) for p in listed.items}
    if predicate(pods):
        return pods
    stream = watch.Watch().stream(
        core.list_namespaced_pod,
        TENANT,
        label_selector=selector,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=timeout,
    )
    for event in stream:
        obj = core.api_client.sanitize_for_serialization(event["object"])
        if event["type"] == "DELETED":
            pods.pop(obj["metadata"]["name"], None)
        else:
            pods[obj["metadata"]["name"]] = obj
        if predicate(pods):
            return pods
    raise AssertionError(f"no {what} within {timeout} s; pods: {sorted(pods)}")


@pytest.fixture(scope="module")
def with_pods(tmp_path_factory) -> Iterator[dict]:
    workdir: Path = tmp_path_factory.mktemp("launcher-pods")
    with simulator_stack(workdir, OSAC, TENANT, "--launcher-pods") as stack:
        yield stack


@pytest.mark.slow
def test_each_vmi_gets_its_pod_and_loses_it_when_it_shuts_down(with_pods):
    api, vmis = with_pods["api"], with_pods["vmis"]
    core = k8s.CoreV1Api(api.api_client)
    make_vm(api, "sim-pods", {"runStrategy": "Always"})
    first = vmis.wait(TENANT, "sim-pods", lambda o: phase(o) == "Running", 15, "VMI Running")
    name = pod_name("sim-pods", uid(first))
    pod = wait_pods(core, lambda pods: name in pods, "pod of the first VMI")[name]
    assert pod["metadata"]["labels"][LAUNCHER_VMI_LABEL] == "sim-pods"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == uid(first)
    with translated_errors():
        api.delete_namespaced_custom_object(G, V, TENANT, "virtualmachineinstances", "sim-pods")
    second = vmis.wait(
        TENANT,
        "sim-pods",
        lambda o: o is not None and uid(o) != uid(first) and phase(o) == "Running",
        15,
        "replacement VMI Running",
    )
    replacement = pod_name("sim-pods", uid(second))
    pods = wait_pods(
        core, lambda pods: name not in pods and replacement in pods, "pod replaced with the VMI"
    )
    assert list(pods) == [replacement]


@pytest.mark.slow
def test_without_the_flag_no_pod_is_made(tmp_path):
    with simulator_stack(tmp_path, OSAC, TENANT) as stack:
        api, vmis = stack["api"], stack["vmis"]
        make_vm(api, "sim-no-pods", {"runStrategy": "Always"})
        vmis.wait(TENANT, "sim-no-pods", lambda o: phase(o) == "Running", 15, "VMI Running")
        with translated_errors():
            pods = k8s.CoreV1Api(api.api_client).list_namespaced_pod(TENANT).items
        assert pods == []
