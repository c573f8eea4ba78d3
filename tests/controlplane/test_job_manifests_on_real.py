"""jobs/ applied with `kubectl apply -k` to a real control plane running the reference stack:
every object of the base and of each overlay is admitted, and the Job's pods are created and
scheduled onto the kwok node. kwok only simulates them: its pod-complete stage ends a Job's pod
at once with exit code 0 and no image is ever pulled, so a Job completes here without running
anything (tests/controlplane/test_job_rbac_on_real.py runs the pods' containers from the host)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.controlplane.job_on_real import JOB, JOBS, NAMESPACE, JobCluster
from tests.controlplane.pod_on_host import container_env, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl"),
]
OVERLAYS = [
    "base",
    "overlays/via-cr",
    "overlays/pvc",
    "overlays/sharded",
    "overlays/cloudkit",
    "overlays/cloudkit-jobs",
]
# A volume for the pvc overlay's claim, as a cluster's provisioner would make one: the control
# plane has no StorageClass, and an unbound claim keeps the pod from being scheduled.
RESULTS_VOLUME = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "osac-harness-results"},
    "spec": {
        "capacity": {"storage": "1Gi"},
        "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/var/tmp/osac-harness-results"},
    },
}


def assert_admitted(cluster: JobCluster, overlay: str) -> None:
    for obj in cluster.render(overlay):
        where = ["-n", obj["metadata"]["namespace"]] if "namespace" in obj["metadata"] else []
        kind = obj["kind"].lower() + "." + obj["apiVersion"].rpartition("/")[0]
        stored = cluster.kubectl.json("get", kind.rstrip("."), obj["metadata"]["name"], *where)
        assert stored["metadata"]["uid"], (overlay, obj["kind"], obj["metadata"]["name"])


def assert_completed_without_an_image(cluster: JobCluster, overlay: str) -> None:
    def complete():
        job = cluster.kubectl.json("get", "job", JOB, "-n", NAMESPACE)
        conditions = {c["type"]: c["status"] for c in job["status"].get("conditions") or []}
        return conditions.get("Complete") == "True"

    wait_for(f"job {JOB} of {overlay} to complete", complete)
    for pod in cluster.pods():
        assert pod["status"]["phase"] == "Succeeded", (overlay, pod["status"])
        (status,) = pod["status"]["containerStatuses"]
        assert status["state"]["terminated"]["exitCode"] == 0
        assert status["imageID"] == "", "kwok never pulls the image"


def test_every_overlay_is_admitted_and_its_pods_are_scheduled_onto_the_kwok_node(tmp_path):
    cluster = JobCluster(tmp_path / "stack").start()
    try:
        nodes = cluster.kubectl.json("get", "nodes")["items"]
        kwok = {
            n["metadata"]["name"]
            for n in nodes
            if "kwok.x-k8s.io/node" in n["metadata"].get("annotations", {})
        }
        assert kwok, nodes
        # The cloudkit overlay's Roles live in that era's namespaces, which an osac cluster does
        # not have: the server refuses them rather than creating the namespaces.
        refused = cluster.kubectl("apply", "-k", str(JOBS / "overlays/cloudkit"), check=False)
        assert 'namespaces "cloudkit-computeinstance" not found' in refused, refused
        for namespace in ("cloudkit-computeinstance", "cloudkit-operator-system"):
            cluster.kubectl("create", "namespace", namespace)
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(RESULTS_VOLUME))
        for overlay in OVERLAYS:
            pods = cluster.apply(overlay)
            assert_admitted(cluster, overlay)
            assert {pod["spec"]["nodeName"] for pod in pods} <= kwok, overlay
            for pod in pods:
                # The ServiceAccount admission plugin mounted the Job account's token.
                assert pod["spec"]["serviceAccountName"] == JOB
                assert any(
                    "serviceAccountToken" in source
                    for volume in pod["spec"]["volumes"]
                    for source in (volume.get("projected") or {}).get("sources", [])
                ), pod["spec"]["volumes"]
            envs = [container_env(pod, pod["spec"]["containers"][0]) for pod in pods]
            assert {env["HARNESS_JOB_NAME"] for env in envs} == {JOB}
            if overlay == "overlays/sharded":
                # The Job controller adds the index; each pod has its own.
                assert sorted(env["JOB_COMPLETION_INDEX"] for env in envs) == ["0", "1", "2", "3"]
            assert_completed_without_an_image(cluster, overlay)
        claim = cluster.kubectl.json("get", "pvc", "osac-harness-results", "-n", NAMESPACE)
        assert claim["status"]["phase"] == "Bound"
    finally:
        cluster.stop()
