"""The Kubernetes vocabulary the harness shares without importing the Kubernetes client:
resources, errors and the watch handle. Reporting code (the xdist controller, `harness merge`)
imports these; only `harness.clients.kubernetes_api` loads the client library, which is slow
to import.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from harness.contract import embedded
from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    VM_KIND,
    VM_PLURAL,
    VMI_KIND,
    VMI_PLURAL,
    Profile,
)


class KubeError(RuntimeError):
    """The Kubernetes API cannot be used; the message is one line saying why, `cause` the kind
    of failure when a caller can act on it: UNREACHABLE, UNTRUSTED (TLS: the server's
    certificate is not signed by the CA we trust), UNAUTHENTICATED (HTTP 401: the credentials
    are not accepted), FORBIDDEN (HTTP 403), or "" (anything else)."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


UNREACHABLE = "unreachable"
UNTRUSTED = "untrusted"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"


class Forbidden(KubeError):
    """The API server refused a request with 403 (our credentials may not do it)."""


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def instance_resource(profile: Profile) -> Resource:
    return Resource(profile.group, profile.version, profile.plural, profile.kind)


VM = Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_PLURAL, VM_KIND)
VMI = Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMI_PLURAL, VMI_KIND)
# The only core resource the harness watches: virt-launcher pods on a real cluster.
POD = Resource("", "v1", "pods", "Pod")
# What a test uses to make the API server refuse one request (harness.clients.refusals).
ACCESS_RULE = Resource(
    embedded.GROUP, embedded.VERSION, embedded.ACCESS_RULE_PLURAL, embedded.ACCESS_RULE_KIND
)
ADMISSION_POLICY = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicies",
    "ValidatingAdmissionPolicy",
)
ADMISSION_POLICY_BINDING = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding",
)


@dataclass(frozen=True)
class WatchEvent:
    type: str
    object: dict[str, Any]


class Gone(Exception):
    """The watch's resourceVersion is older than the server's event window (HTTP 410)."""


class WatchHandle:
    """Lets another thread end a blocking watch at once, race-free: a stop that comes before
    the response exists is applied the moment it arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: Any = None
        self.stopped = False

    def attach(self, response: Any) -> None:
        with self._lock:
            self._response = response
            stopped = self.stopped
        if stopped:
            _shutdown(response)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            response = self._response
        if response is not None:
            _shutdown(response)


def _shutdown(response: Any) -> None:
    """Unblock a thread reading this streaming response (urllib3 >= 2.3 has shutdown())."""
    with contextlib.suppress(Exception):
        response.shutdown()
