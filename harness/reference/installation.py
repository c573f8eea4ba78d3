"""The objects that describe the embedded stack the way a cluster describes its installation.

On a cluster the environment doctor reads the operator's Deployment, KubeVirt's install CR and
the fulfillment API's Authorino AuthConfig. The embedded stack has no pods, so it stores these
as plain objects that tell the truth about its own components:

- the operator Deployment (profile's name and namespace) runs as the service account the
  reference controller really authenticates as, with that release's environment names set to
  what the controller is really given (hub namespace, tenant namespace, the provider when its
  jobs read as EDA's or AAP's), its webhooks pointing at the stack's reference webhook
  endpoint, and a ready status (it exists only when the stack runs a controller; the stack
  stops if its controller dies);
- KubeVirt `kubevirt` in namespace `kubevirt`: `Deployed`/`Available`, as the simulated KubeVirt
  serves once the stack is up;
- AuthConfig `fulfillment-service` in the hub namespace: its admin subjects are the reference
  fulfillment API's admins (from its tokens file) and the operator's service account.

The image is named for what runs (the harness's reference operator), in no public registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    PROVISIONING_PROVIDERS,
    Profile,
)

REFERENCE_OPERATOR_IMAGE = "localhost/osac-restart-harness/reference-operator:0.1.0"
OPERATOR_SERVICE_ACCOUNT = "controller-manager"
KUBEVIRT_NAMESPACE = "kubevirt"
AUTHCONFIG_NAME = "fulfillment-service"
AUTHCONFIG_API_VERSION = "authorino.kuadrant.io/v1beta2"


def operator_user(profile: Profile) -> str:
    return f"system:serviceaccount:{profile.operator_namespace}:{OPERATOR_SERVICE_ACCOUNT}"


def operator_deployment(
    profile: Profile, webhook_url: str, provider: str | None = None
) -> dict[str, Any]:
    """`provider`: the value of the release's provider variable (`eda`, `aap`), if any."""
    names = profile.operator_env
    env = [
        {"name": names.namespace, "value": profile.hub_namespace},
        {"name": names.provision_webhook, "value": f"{webhook_url}/create-compute-instance"},
        {"name": names.deprovision_webhook, "value": f"{webhook_url}/delete-compute-instance"},
    ]
    if provider in PROVISIONING_PROVIDERS and profile.records_jobs and names.provider:
        env.append({"name": names.provider, "value": provider})
    if profile.era == "B":
        env.append({"name": profile.env("TENANT_NAMESPACE"), "value": profile.hub_namespace})
    labels = {"control-plane": "controller-manager"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": profile.operator_deployment,
            "namespace": profile.operator_namespace,
            "labels": labels,
            "generation": 1,
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": OPERATOR_SERVICE_ACCOUNT,
                    "containers": [
                        {"name": "manager", "image": REFERENCE_OPERATOR_IMAGE, "env": env}
                    ],
                },
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def kubevirt_install() -> dict[str, Any]:
    return {
        "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": KUBEVIRT_NAMESPACE},
        "spec": {},
        "status": {
            "phase": "Deployed",
            "observedKubeVirtVersion": "simulated",
            "conditions": [
                {"type": "Available", "status": "True", "reason": "AllComponentsReady"},
                {"type": "Progressing", "status": "False", "reason": "AllComponentsReady"},
                {"type": "Degraded", "status": "False", "reason": "AllComponentsReady"},
            ],
        },
    }


def auth_config(profile: Profile, admins: Sequence[str]) -> dict[str, Any]:
    """An Authorino AuthConfig whose OPA rule lets only `admins` call private methods."""
    rego = (
        "admins := " + json.dumps(sorted(admins)) + "\n"
        "private := startswith(input.context.request.http.path, "
        + json.dumps(f"/{profile.grpc.private_package}.")
        + ")\n"
        "allow { not private }\n"
        "allow { private; admins[_] == input.auth.identity.user.username }\n"
    )
    return {
        "apiVersion": AUTHCONFIG_API_VERSION,
        "kind": "AuthConfig",
        "metadata": {"name": AUTHCONFIG_NAME, "namespace": profile.hub_namespace},
        "spec": {
            "hosts": ["fulfillment-api"],
            "authentication": {
                "service-accounts": {
                    "kubernetesTokenReview": {
                        "audiences": [
                            "https://kubernetes.default.svc",
                            "https://kubernetes.default.svc.cluster.local",
                        ]
                    }
                }
            },
            "authorization": {"admins-only-for-private-methods": {"opa": {"rego": rego}}},
        },
    }


def admin_subjects(profile: Profile, api_admins: Sequence[str], with_operator: bool) -> list[str]:
    """The fulfillment API's admins: `api_admins` and, with an operator, its service account."""
    return [*api_admins, *([operator_user(profile)] if with_operator else [])]


def environment_objects(
    profile: Profile,
    webhook_url: str,
    api_admins: Sequence[str],
    with_operator: bool,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in (profile.operator_namespace, KUBEVIRT_NAMESPACE)
    ]
    objects: list[dict[str, Any]] = [*namespaces, kubevirt_install()]
    if with_operator:
        # The account its pods run as: a real API server admits no pod naming a missing one.
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": OPERATOR_SERVICE_ACCOUNT,
                    "namespace": profile.operator_namespace,
                },
            }
        )
        objects.append(operator_deployment(profile, webhook_url, provider))
    objects.append(auth_config(profile, admin_subjects(profile, api_admins, with_operator)))
    return objects
