"""Each reference component's ServiceAccount and least-privilege RBAC on a real API server.

The rules are what each component was measured to do (the audit log of the suites under both
modes), and no more: a component that starts doing something new gets 403 until its rules here
say so. Namespaced access is a Role in the hub namespace; what a component watches across the
tenants' namespaces (VirtualMachines, VirtualMachineInstances) is a ClusterRole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from harness.contract.profiles import Profile

KUBEVIRT = "kubevirt.io"
CORE = ""
AUTHENTICATION = "authentication.k8s.io"
RBAC = "rbac.authorization.k8s.io"
READ = ("get", "list", "watch")
# A year: `harness up` may serve a developer for days, and nothing here refreshes a token.
TOKEN_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class Grant:
    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    cluster_wide: bool = False
    """False: in the profile's hub namespace only."""


def grants(profile: Profile) -> dict[str, tuple[Grant, ...]]:
    """What each component may do, by its name in the stack."""
    group = profile.group
    return {
        "controller": (
            Grant(group, ("computeinstances",), (*READ, "update", "patch")),
            Grant(group, ("computeinstances/status",), ("get", "update", "patch")),
            Grant(group, ("tenants",), READ),
            Grant(
                KUBEVIRT,
                ("virtualmachines",),
                (*READ, "create", "update", "patch", "delete"),
                cluster_wide=True,
            ),
            Grant(KUBEVIRT, ("virtualmachineinstances",), ("get", "delete"), cluster_wide=True),
        ),
        "kubevirt": (
            Grant(
                KUBEVIRT,
                ("virtualmachineinstances",),
                (*READ, "create", "update", "patch", "delete"),
                cluster_wide=True,
            ),
            Grant(KUBEVIRT, ("virtualmachines",), READ, cluster_wide=True),
            Grant(
                KUBEVIRT, ("virtualmachines/status",), ("get", "update", "patch"), cluster_wide=True
            ),
            # Each VMI's virt-launcher pod, in the VMI's namespace.
            Grant(CORE, ("pods",), ("create", "delete"), cluster_wide=True),
        ),
        "fulfillment": (
            Grant(group, ("computeinstances",), (*READ, "create", "update", "patch", "delete")),
            # Who a bearer token stands for, as Authorino's kubernetesTokenReview asks.
            Grant(AUTHENTICATION, ("tokenreviews",), ("create",), cluster_wide=True),
        ),
    }


def service_account(user: str) -> tuple[str, str]:
    """(namespace, name) of `system:serviceaccount:<namespace>:<name>`."""
    prefix, _, rest = user.partition("system:serviceaccount:")
    namespace, _, name = rest.partition(":")
    if prefix or not namespace or not name:
        raise ValueError(f"{user!r} is not a service account's user name")
    return namespace, name


def _rules(selected: Iterable[Grant]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [g.group], "resources": list(g.resources), "verbs": list(g.verbs)}
        for g in selected
    ]


def access_objects(profile: Profile, users: dict[str, str]) -> list[dict[str, Any]]:
    """Namespaces, ServiceAccounts, roles and bindings for `users` (component name → the
    service account's user name), in the order a server accepts them."""
    namespaces: dict[str, None] = {profile.hub_namespace: None}
    accounts, roles = [], []
    for component, user in users.items():
        namespace, name = service_account(user)
        namespaces[namespace] = None
        accounts.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            }
        )
        subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
        # Not `osac-harness-…`: those are the in-cluster Job's roles (jobs/), applied beside these.
        role_name = f"osac-reference-{component}"
        component_grants = grants(profile)[component]
        for cluster_wide in (True, False):
            rules = _rules(g for g in component_grants if g.cluster_wide == cluster_wide)
            if not rules:
                continue
            kind = "ClusterRole" if cluster_wide else "Role"
            metadata: dict[str, Any] = {"name": role_name}
            if not cluster_wide:
                metadata["namespace"] = profile.hub_namespace
            roles.append({"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata})
            roles[-1]["rules"] = rules
            roles.append(
                {
                    "apiVersion": f"{RBAC}/v1",
                    "kind": f"{kind}Binding",
                    "metadata": metadata,
                    "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name},
                    "subjects": [subject],
                }
            )
    namespace_objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in namespaces
    ]
    return [*namespace_objects, *accounts, *roles]


def mint_token(api_client: k8s.ApiClient, user: str, seconds: int = TOKEN_SECONDS) -> str:
    """A token for the service account `user`, through TokenRequest, as a pod's would be."""
    namespace, name = service_account(user)
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    answer = k8s.CoreV1Api(api_client).create_namespaced_service_account_token(
        name, namespace, request
    )
    return str(answer.status.token)
