"""Start the reference fulfillment API (and, for integration tests, the embedded API server) as
real child processes, and talk to them over real sockets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness.contract.profiles import Profile
from harness.reference.apiserver import testing
from harness.reference.crds import crd_paths
from harness.reference.process import ComponentProcess
from harness.reference.stack import TENANT, seed_objects

USER_TOKEN = "user-token-1"
ADMIN_TOKEN = "admin-token-1"
USER_SUBJECT = f"system:serviceaccount:{TENANT}:e2e"


def write_tokens(path: Path, profile: Profile) -> Path:
    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {
                        "token": USER_TOKEN,
                        "subject": USER_SUBJECT,
                        "admin": False,
                        "tenant": TENANT,
                    },
                    {
                        "token": ADMIN_TOKEN,
                        "subject": f"system:serviceaccount:{profile.hub_namespace}:admin",
                        "admin": True,
                        "tenant": TENANT,
                    },
                ]
            }
        )
    )
    return path


def write_kubeconfig(path: Path, url: str, token: str = "any-token") -> Path:
    return testing.write_kubeconfig(path, url, token=token)


def start_fulfillment(
    tmp: Path, profile: Profile, kubeconfig: Path, *extra: str
) -> tuple[ComponentProcess, str]:
    tokens = write_tokens(tmp / f"tokens-{profile.name}.json", profile)
    process = ComponentProcess(
        "fulfillment",
        "harness.reference.fulfillment",
        [
            "--kubeconfig",
            str(kubeconfig),
            "--profile",
            profile.name,
            "--port",
            "0",
            "--hub-namespace",
            profile.hub_namespace,
            "--tokens",
            str(tokens),
            "-v",
            *extra,
        ],
        tmp / f"fulfillment-{profile.name}.log",
    )
    process.start()
    try:
        info = process.wait_ready(20)
    except Exception:
        process.stop()
        raise
    return process, str(info["address"])


def start_apiserver(tmp: Path, profile: Profile) -> tuple[ComponentProcess, Path]:
    """The embedded API server with the profile's CRDs and seed (hub + tenant namespace, a
    ready Tenant); returns the process and its administrator's kubeconfig."""
    seed = tmp / f"seed-{profile.name}.yaml"
    seed.write_text(yaml.safe_dump_all(seed_objects(profile)))
    server = testing.start_apiserver(
        tmp / f"apiserver-{profile.name}", crds=crd_paths(profile), seeds=[seed]
    )
    return server.process, server.kubeconfig


def kube_api(kubeconfig: Path) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(k8s_config.new_client_from_config(config_file=str(kubeconfig)))


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def call_error(function: Any, request: Any, **kwargs: Any) -> grpc.RpcError:
    try:
        function(request, timeout=10, **kwargs)
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded but was expected to fail")
