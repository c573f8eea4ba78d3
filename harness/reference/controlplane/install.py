"""Put the stack's CRDs, objects and component permissions on a real API server, as a cluster
installation would: through the API, with the official client's dynamic client.

CRDs are created and awaited until Established; objects are created, and where one carries a
`status` (a ready Tenant, an installed KubeVirt) it is written through the status subresource
afterwards, as the controller that owns it would. Deployments get no status from us: the real
controller manager and scheduler run their pods on the kwok nodes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

ESTABLISHED_TIMEOUT = 30.0


class InstallError(RuntimeError):
    """An object could not be installed; the message names it and the server's answer."""


def _describe(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    where = f"{metadata.get('namespace')}/" if metadata.get("namespace") else ""
    return f"{obj.get('kind')} {where}{metadata.get('name')}"


class Installer:
    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api_client = api_client
        self.dynamic = DynamicClient(api_client)

    def crds(self, paths: Sequence[Path]) -> None:
        crds = self.dynamic.resources.get(
            api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
        )
        names = []
        for path in paths:
            for document in yaml.safe_load_all(path.read_text()):
                if document:
                    self._create(crds, document)
                    names.append(document["metadata"]["name"])
        deadline = time.monotonic() + ESTABLISHED_TIMEOUT
        for name in names:
            while not _established(crds.get(name=name).to_dict()):
                if time.monotonic() > deadline:
                    raise InstallError(f"CRD {name} not Established in {ESTABLISHED_TIMEOUT} s")
                time.sleep(0.1)
        self.dynamic.resources.invalidate_cache()

    def objects(self, objects: Iterable[dict[str, Any]]) -> None:
        for obj in objects:
            body = dict(obj)
            status = body.pop("status", None)
            try:
                resource = self.dynamic.resources.get(
                    api_version=body["apiVersion"], kind=body["kind"]
                )
            except ResourceNotFoundError as error:
                raise InstallError(f"{_describe(obj)}: the server does not serve it") from error
            created = self._create(resource, body)
            if status is None or body["kind"] == "Deployment":
                continue
            if "status" not in _subresources(resource):
                continue  # no status subresource: the status went in with the object
            status_body = {
                **body,
                "metadata": {
                    **body["metadata"],
                    "resourceVersion": created["metadata"]["resourceVersion"],
                },
                "status": status,
            }
            resource.status.replace(body=status_body, namespace=body["metadata"].get("namespace"))

    def _create(self, resource: Any, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body.get("metadata", {}).get("namespace") if resource.namespaced else None
        try:
            return dict(resource.create(body=body, namespace=namespace).to_dict())
        except Exception as error:
            raise InstallError(f"creating {_describe(body)} failed: {error}") from error


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _subresources(resource: Any) -> set[str]:
    try:
        return set(resource.subresources)
    except (AttributeError, NotFoundError):
        return set()


def wait_available(
    api_client: k8s.ApiClient, namespace: str, name: str, timeout: float = ESTABLISHED_TIMEOUT
) -> None:
    """Until Deployment `namespace/name` has an available replica (the real controller manager
    and scheduler put its pod on a kwok node, and kwok runs it)."""
    apps = k8s.AppsV1Api(api_client)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = apps.read_namespaced_deployment(name, namespace, _request_timeout=10).status
        except k8s.ApiException as error:
            raise InstallError(f"Deployment {namespace}/{name}: {error.reason}") from None
        if status is not None and (status.available_replicas or 0) >= 1:
            return
        time.sleep(0.1)
    conditions = "; ".join(
        f"{c.type}={c.status} ({c.reason}: {c.message})"
        for c in (status.conditions if status is not None else None) or []
    )
    raise InstallError(
        f"Deployment {namespace}/{name} has no available pod after {timeout:.0f} s"
        + (f": {conditions}" if conditions else "")
    )
