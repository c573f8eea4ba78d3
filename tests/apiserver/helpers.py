"""Shared pieces of the API server tests: test CRDs, raw calls, watch-based waits."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client, watch

# Set to run the checks against another server (a real cluster, say) instead of the embedded one.
EXTERNAL = os.environ.get("APISERVER_CONTRACT_KUBECONFIG")
DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "harness" / "reference" / "crds"
CI_CRD = CRD_DIR / "osac.openshift.io_computeinstances.yaml"
NETWORKED_CRD = DATA / "networked-crd.yaml"

GROUP = "contract.osac.test"
VERSION = "v1"
WIDGETS = "widgets"
GIZMOS = "gizmos"
CI_GROUP = "osac.openshift.io"
CI_VERSION = "v1alpha1"
CI_PLURAL = "computeinstances"
WATCH_TIMEOUT = 5
# Garbage collection and namespace deletion on a real server: its controllers notice a resource
# kind created during the run at their next discovery resync (every 30 s), so allow for that.
GC_TIMEOUT = 90
# The session server's event window: small enough that a test can push an old
# resourceVersion out of it (the 410 checks).
WATCH_WINDOW = 300
READ_TIMEOUT = 15

T = TypeVar("T")


def configmaps_path(namespace: str) -> str:
    """The URL path of `namespace`'s ConfigMaps."""
    return f"/api/v1/namespaces/{namespace}/configmaps"


def widgets_path(namespace: str) -> str:
    """The URL path of `namespace`'s Widgets (the checks' custom resource)."""
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def widget_crd(
    plural: str = WIDGETS, kind: str = "Widget", group: str = GROUP, status: bool = True
) -> dict[str, Any]:
    """A CRD exercising most structural-schema features; `gizmos` has no status subresource."""
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["size"],
                        "properties": {
                            "size": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 10,
                                "format": "int32",
                            },
                            "color": {"type": "string", "enum": ["red", "blue"]},
                            "mode": {"type": "string", "default": "auto"},
                            "label": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
                            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                            "stamp": {"type": "string", "format": "date-time"},
                            "extra": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                            "port": {"x-kubernetes-int-or-string": True},
                            "note": {"type": "string", "nullable": True},
                            "limits": {
                                "type": "object",
                                "additionalProperties": {"type": "integer"},
                            },
                            "options": {
                                "type": "object",
                                "default": {},
                                "properties": {"retries": {"type": "integer", "default": 3}},
                            },
                        },
                    },
                    "status": {
                        "type": "object",
                        # kopf records handler results in status, as its docs recommend.
                        "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {"phase": {"type": "string"}, "count": {"type": "integer"}},
                    },
                },
            }
        },
    }
    if status:
        version["subresources"] = {"status": {}}
    singular = kind.lower()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": singular,
                "kind": kind,
                "shortNames": [f"{singular[:2]}x"],
            },
            "versions": [version],
        },
    }


def widget(name: str | None = None, size: int = 1, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} if name else {"generateName": "widget-"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": metadata,
        "spec": {"size": size, **spec},
    }


def compute_instance(name: str | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name} if name else {"generateName": "vm-"}
    return {
        "apiVersion": f"{CI_GROUP}/{CI_VERSION}",
        "kind": "ComputeInstance",
        "metadata": metadata,
        "spec": {
            "templateID": "osac.templates.ocp_virt_vm",
            "image": {
                "sourceType": "registry",
                "sourceRef": "quay.io/containerdisks/fedora:latest",
            },
            "cores": 2,
            "memoryGiB": 4,
            "bootDisk": {"sizeGiB": 20},
            "runStrategy": "Always",
            **spec,
        },
    }


def load_crd(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def ensure_crd(
    api_client: client.ApiClient, body: dict[str, Any], timeout: float = 30
) -> dict[str, Any]:
    """Create a CRD unless it exists, then wait until it is Established; return it as read.

    A real server answers the create before its controllers accept the names (the response's
    `status.conditions` is null, which the official client's model cannot read), so the CRD is
    handled as JSON and the wait follows its watch, not the create's answer.
    """
    crds = client.ApiextensionsV1Api(api_client)
    name = body["metadata"]["name"]
    try:
        crds.create_custom_resource_definition(body, _preload_content=False)
    except client.ApiException as error:
        if error.status != 409:
            raise
    stream = watch.Watch()
    try:
        for event in stream.stream(
            crds.list_custom_resource_definition,
            field_selector=f"metadata.name={name}",
            timeout_seconds=int(timeout),
            _request_timeout=timeout + 5,
        ):
            current = event["raw_object"]
            conditions = {
                c["type"]: c["status"] for c in current.get("status", {}).get("conditions") or []
            }
            if conditions.get("Established") == "True":
                return current
    finally:
        stream.stop()
    raise TimeoutError(f"CRD {name} not established within {timeout} s")


def eventually(check: Callable[[], T], timeout: float = 30) -> T:
    """`check()` once it stops raising: for what a real server applies a moment after it
    answers (a CRD's new schema, its removal), which has no condition to watch."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, client.ApiException):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def raw(
    api_client: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    accept: str = "application/json",
) -> tuple[int, Any]:
    """A request the typed client has no method for; returns (status, decoded JSON or text)."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    request = api_client.param_serialize(
        method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api_client.call_api(*request, _request_timeout=READ_TIMEOUT)
    response.read()
    text = response.data.decode() if isinstance(response.data, bytes) else response.data
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def api_error(call: Any, *args: Any, **kwargs: Any) -> client.ApiException:
    """Run a client call that must fail and return its ApiException."""
    try:
        call(*args, **kwargs)
    except client.ApiException as error:
        return error
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded but should have failed")


def body_of(error: client.ApiException) -> dict[str, Any]:
    return json.loads(error.body)


def watch_events(
    list_call: Any, *args: Any, timeout: int = WATCH_TIMEOUT, until: Any = None, **kwargs: Any
) -> list[dict[str, Any]]:
    """Collect watch events until `until(events)` holds or the server-side timeout ends it."""
    stream = watch.Watch()
    events: list[dict[str, Any]] = []
    for event in stream.stream(
        list_call, *args, timeout_seconds=timeout, _request_timeout=timeout + READ_TIMEOUT, **kwargs
    ):
        events.append(event)
        if until is not None and until(events):
            stream.stop()
            break
    return events


def wait_gone(
    custom: client.CustomObjectsApi,
    group: str,
    version: str,
    namespace: str,
    plural: str,
    name: str,
    timeout: int = GC_TIMEOUT,
) -> None:
    """Wait (by watch, not polling) until the object no longer exists."""
    try:
        current = custom.get_namespaced_custom_object(group, version, namespace, plural, name)
    except client.ApiException as error:
        if error.status == 404:
            return
        raise
    events = watch_events(
        custom.list_namespaced_custom_object,
        group,
        version,
        namespace,
        plural,
        field_selector=f"metadata.name={name}",
        resource_version=current["metadata"]["resourceVersion"],
        timeout=timeout,
        until=lambda events: events[-1]["type"] == "DELETED",
    )
    if not events or events[-1]["type"] != "DELETED":
        raise TimeoutError(f"{plural}/{name} still exists after {timeout} s: {events}")
