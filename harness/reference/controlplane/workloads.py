"""The reference stack's local processes as workloads of the real control plane.

kwok runs pods without containers. These objects and kwok's configuration make its simulated
pods stand for the processes the stack runs on this machine, so that what a developer does to a
cluster works here too:

- the fulfillment API: Deployment and Service `fulfillment-api` (port 8000, named `api`, as in
  OSAC) in the hub namespace, its pod running as the fulfillment API's ServiceAccount. kwok's
  `ClusterPortForward` sends port 8000 of the pods in the hub namespace to the local gRPC
  server, so `kubectl port-forward svc/fulfillment-api :8000` reaches it;
- the operator: kwok's `ClusterLogs` serves the container `manager` of the pods in the operator
  namespace from the reference controller's container log (`container_log.ContainerLog`), so
  `kubectl logs` and the API's `pods/log` return its lines;
- the API's callers: ServiceAccounts `admin` (hub namespace, an admin subject) and `e2e` (tenant
  namespace), whose TokenRequest tokens the fulfillment API checks through TokenReview.

kwok reads its configuration once, when it starts: the fulfillment API's port must be chosen
before the control plane starts (`reserve_port`).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from harness.contract.profiles import Profile

KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1"
API_SERVICE = "fulfillment-api"
API_PORT = 8000
API_PORT_NAME = "api"
REFERENCE_API_IMAGE = "localhost/osac-restart-harness/reference-fulfillment-api:0.1.0"
OPERATOR_CONTAINER = "manager"


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def reserve_port(host: str, port: int = 0) -> socket.socket:
    """A socket bound to `port` (0: a free one) and not listening: while it is open, nothing
    else gets that port, and the fulfillment API binds it once this is closed."""
    reserved = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.bind((host, port))
    return reserved


def kwok_config(
    profile: Profile, api_host: str, api_port: int, operator_log: Path
) -> tuple[dict[str, Any], ...]:
    """kwok's port forward to the fulfillment API and the operator container's log."""
    forward = {
        "apiVersion": KWOK_API_VERSION,
        "kind": "ClusterPortForward",
        "metadata": {"name": "fulfillment-api"},
        "spec": {
            "selector": {"matchNamespaces": [profile.hub_namespace]},
            "forwards": [{"ports": [API_PORT], "target": {"address": api_host, "port": api_port}}],
        },
    }
    logs = {
        "apiVersion": KWOK_API_VERSION,
        "kind": "ClusterLogs",
        "metadata": {"name": "operator"},
        "spec": {
            "selector": {"matchNamespaces": [profile.operator_namespace]},
            "logs": [
                {"containers": [OPERATOR_CONTAINER], "logsFile": str(operator_log), "follow": True}
            ],
        },
    }
    return forward, logs


def api_objects(profile: Profile, api_user: str, callers: list[str]) -> list[dict[str, Any]]:
    """The fulfillment API's Deployment (running as `api_user`'s ServiceAccount) and Service,
    and a ServiceAccount for each of `callers` (service-account user names)."""
    namespace = profile.hub_namespace
    account = api_user.rpartition(":")[2]
    labels = {"app": API_SERVICE}
    accounts = []
    for caller in callers:
        _, caller_namespace, name = caller.rsplit(":", 2)
        accounts.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": caller_namespace},
            }
        )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": API_SERVICE, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": account,
                    "containers": [
                        {
                            "name": "server",
                            "image": REFERENCE_API_IMAGE,
                            "ports": [{"name": API_PORT_NAME, "containerPort": API_PORT}],
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": API_SERVICE, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": API_PORT_NAME, "port": API_PORT, "targetPort": API_PORT_NAME}],
        },
    }
    return [*accounts, deployment, service]
