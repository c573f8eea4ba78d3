"""environment.json: what was tested, with what — never a token.

The part every process knows (versions of the harness and its libraries, the settings' target,
profile, mode) is written by the process that writes the summary; the part that needs the
system under test (the Kubernetes server version, the operator's images and their digests) is
read by a process that is connected to it and handed over.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import TYPE_CHECKING, Any

from harness.config import Settings

if TYPE_CHECKING:
    from harness.clients.kubernetes_api import KubeClient

LIBRARIES = (
    "osac-restart-harness",
    "pytest",
    "pytest-xdist",
    "kubernetes",
    "grpcio",
    "allure-pytest",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def settings_view(settings: Settings) -> dict[str, Any]:
    """The settings that say what was tested; connection secrets are left out by design."""
    return {
        "target": settings.target,
        "profile": settings.profile.name,
        "via": settings.via,
        "namespace": settings.namespace,
        "api_address": settings.api_address,
        "kube_context": settings.kube_context,
    }


def base_environment(settings: Settings | None) -> dict[str, Any]:
    environment: dict[str, Any] = {
        "harness_version": library_versions().get("osac-restart-harness", "unknown"),
        "versions": library_versions(),
        "kubernetes_server_version": "unknown",
        "operator": {"images": [], "status": "unknown: no process reached the system under test"},
    }
    if settings is not None:
        environment.update(settings_view(settings))
    return environment


def system_under_test(kube: KubeClient, settings: Settings) -> dict[str, Any]:
    """Server version and the operator's images, read with the harness's own credentials."""
    found: dict[str, Any] = {}
    try:
        found["kubernetes_server_version"] = kube.check_reachable()
    except Exception as error:  # what cannot be read is said so, never fatal
        found["kubernetes_server_version"] = f"unknown: {error}"
    if settings.embedded:
        found["operator"] = {
            "images": [],
            "status": "embedded reference stack: components run as local processes, no images",
        }
    else:
        found["operator"] = operator_images(kube, settings)
    return found


def operator_images(kube: KubeClient, settings: Settings) -> dict[str, Any]:
    profile = settings.profile
    where = f"{profile.operator_namespace}/{profile.operator_deployment}"
    try:
        deployment = kube.read_deployment(profile.operator_namespace, profile.operator_deployment)
    except Exception as error:
        return {"deployment": where, "images": [], "status": f"unknown: {_why(error)}"}
    if deployment is None:
        return {"deployment": where, "images": [], "status": "unknown: no such Deployment"}
    images = [
        {"container": c.get("name"), "image": c.get("image"), "image_id": "unknown"}
        for c in (deployment.get("spec") or {})
        .get("template", {})
        .get("spec", {})
        .get("containers")
        or []
    ]
    selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    try:
        pods = kube.list_pods(
            profile.operator_namespace, ",".join(f"{k}={v}" for k, v in selector.items())
        )
        digests = {
            status_entry.get("name"): status_entry.get("imageID")
            for pod in pods
            for status_entry in (pod.get("status") or {}).get("containerStatuses") or []
            if status_entry.get("imageID")
        }
        for image in images:
            image["image_id"] = digests.get(image["container"], "unknown")
        status = (
            "digests from the running pods"
            if digests
            else "images from the Deployment; digests unknown (no pod of it reports an imageID)"
        )
    except Exception as error:
        status = f"images from the Deployment; digests unknown: {_why(error)}"
    return {"deployment": where, "images": images, "status": status}


def _why(error: BaseException) -> str:
    status = getattr(error, "status", None)
    return f"HTTP {status}" if status else str(error).splitlines()[0][:200]
