"""What the checks share: settings, doctor options, connections opened once, looked-up objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import Resource
from harness.config import Settings

DEPLOYMENT = Resource("apps", "v1", "deployments", "Deployment")
CRD = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition"
)
KUBEVIRT_INSTALL = Resource("kubevirt.io", "v1", "kubevirts", "KubeVirt")
AUTHCONFIG = Resource("authorino.kuadrant.io", "v1beta2", "authconfigs", "AuthConfig")
# GitHub organisations of the OSAC project (contract, sources); images under another account on
# a public registry are someone's own builds.
PROJECT_ORGS = ("osac-project", "innabox")
PUBLIC_REGISTRIES = ("quay.io", "docker.io", "ghcr.io", "registry.hub.docker.com")


@dataclass(frozen=True)
class DoctorOptions:
    """What the doctor checks against, beyond the harness settings; `harness/commands/
    doctor_run.py` fills every field from its flags (`arguments.py`)."""

    operator_namespace: str | None = None
    """Namespace of the operator's Deployment. Default None: the profile's (e.g.
    `osac-operator-system`). `--operator-namespace`."""

    operator_deployment: str | None = None
    """Name of the operator's Deployment. Default None: the profile's. `--operator-deployment`."""

    expected_release: str | None = None
    """Image tag the operator's manager container must carry (a leading `v` is ignored).
    Default None: not checked. `--expected-release`."""

    expected_image: str | None = None
    """Full image the operator's manager container must run. Default None: not checked.
    `--expected-image`."""

    trusted_orgs: tuple[str, ...] = ()
    """Registry accounts whose images count as official besides the project's own
    (`PROJECT_ORGS`). Default none. `--trusted-org` (repeatable)."""

    webhook_timeout: float = 10.0
    """Seconds to wait for each of the operator's webhooks to answer. Default 10.
    `--webhook-timeout`."""

    require_evidence: bool = False
    """Missing permissions to read a run's evidence fail the check `kube.evidence` instead of
    warning. Default off: a run works without them. `--require-evidence`; the in-cluster Job
    (`harness.commands.job_run`), whose RBAC grants them, sets it."""


@dataclass
class DoctorContext:
    settings: Settings
    options: DoctorOptions
    kube: KubeClient | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> Any:
        return self.settings.profile

    @property
    def operator_namespace(self) -> str:
        return self.options.operator_namespace or self.profile.operator_namespace

    @property
    def operator_name(self) -> str:
        return self.options.operator_deployment or self.profile.operator_deployment

    def require_kube(self) -> KubeClient:
        assert self.kube is not None, "a check that needs kube.api ran without it"
        return self.kube

    def operator(self) -> dict[str, Any] | None:
        if "operator" not in self.cache:
            self.cache["operator"] = self.require_kube().get(
                DEPLOYMENT, self.operator_namespace, self.operator_name
            )
        return self.cache["operator"]

    def operator_container(self) -> dict[str, Any] | None:
        """The manager container (named `manager`, else the first)."""
        deployment = self.operator()
        if deployment is None:
            return None
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        named = [c for c in containers if c.get("name") == "manager"]
        return (named or containers or [None])[0]

    def operator_env(self) -> dict[str, str | None]:
        """Environment of the manager container: literal values, None for valueFrom."""
        container = self.operator_container() or {}
        return {item["name"]: item.get("value") for item in container.get("env") or []}

    def operator_user(self) -> str | None:
        deployment = self.operator()
        if deployment is None:
            return None
        account = deployment["spec"]["template"]["spec"].get("serviceAccountName") or "default"
        return f"system:serviceaccount:{self.operator_namespace}:{account}"
