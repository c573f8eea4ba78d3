"""virt-launcher pods: the pod KubeVirt runs each VMI in, for a control plane that runs pods.

Labelled and owned as KubeVirt's virt-controller makes them (`kubevirt.io=virt-launcher`,
`kubevirt.io/created-by=<VMI uid>`, `vm.kubevirt.io/name=<VMI name>`, the VMI as controlling
owner), so whatever finds a VMI's pod on a cluster finds it here. Created when the VMI is, and
deleted when the VMI shuts down (garbage collection takes any left behind once their VMI is
gone). The name ends in a suffix drawn from the VMI's uid instead of a random one, so a retry
or a restarted simulator finds the pod it made.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

from kubernetes import client as k8s

from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    LAUNCHER_VMI_LABEL,
    VMI_KIND,
)
from harness.reference.component_client import (
    AlreadyExistsError,
    NotFoundError,
    Obj,
    translated_errors,
)
from harness.reference.kubevirt import lifecycle as lc

logger = logging.getLogger(__name__)

APP_LABEL = "kubevirt.io"
CREATED_BY_LABEL = "kubevirt.io/created-by"
DOMAIN_ANNOTATION = "kubevirt.io/domain"
LAUNCHER_IMAGE = "localhost/osac-restart-harness/simulated-virt-launcher:0.1.0"
REQUEST_TIMEOUT = (10, 30)
# The characters Kubernetes draws generated name suffixes from.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def pod_name(vmi_name: str, uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    suffix = "".join(_SUFFIX_ALPHABET[byte % len(_SUFFIX_ALPHABET)] for byte in digest[:5])
    return f"virt-launcher-{vmi_name}-{suffix}"


def launcher_pod(vmi: Obj) -> Obj:
    meta = lc.metadata(vmi)
    name, uid = str(meta.get("name")), str(meta.get("uid"))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(name, uid),
            "namespace": meta.get("namespace"),
            "labels": {
                APP_LABEL: "virt-launcher",
                CREATED_BY_LABEL: uid,
                LAUNCHER_VMI_LABEL: name,
            },
            "annotations": {DOMAIN_ANNOTATION: name},
            "ownerReferences": [
                {
                    "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
                    "kind": VMI_KIND,
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "compute", "image": LAUNCHER_IMAGE}],
        },
    }


class LauncherPods:
    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.core = k8s.CoreV1Api(api_client)
        # VMI uids whose pod was made, and whose pod was deleted, already.
        self._made: set[str] = set()
        self._deleted: set[str] = set()

    def ensure(self, vmi: Obj) -> None:
        """Create the VMI's pod unless done already."""
        uid = str(lc.metadata(vmi).get("uid") or "")
        if not uid or uid in self._made:
            return
        body = launcher_pod(vmi)
        namespace = str(body["metadata"]["namespace"])
        try:
            with translated_errors():
                self.core.create_namespaced_pod(namespace, body, _request_timeout=REQUEST_TIMEOUT)
        except AlreadyExistsError:
            pass
        else:
            logger.info("%s/%s: created pod", namespace, body["metadata"]["name"])
        self._made.add(uid)

    def delete(self, vmi: Obj) -> None:
        """Delete the VMI's pod unless done already."""
        meta = lc.metadata(vmi)
        uid = str(meta.get("uid") or "")
        if not uid or uid in self._deleted:
            return
        name, namespace = pod_name(str(meta.get("name")), uid), str(meta.get("namespace"))
        with contextlib.suppress(NotFoundError), translated_errors():
            self.core.delete_namespaced_pod(name, namespace, _request_timeout=REQUEST_TIMEOUT)
            logger.info("%s/%s: deleted pod (its VMI shuts down)", namespace, name)
        self._deleted.add(uid)

    def forget(self, uid: str) -> None:
        """The VMI is gone: its pod is garbage collection's now."""
        self._made.discard(uid)
        self._deleted.discard(uid)
