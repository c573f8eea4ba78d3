"""One API server per test session (per xdist worker), driven only through the official client.

Set APISERVER_CONTRACT_KUBECONFIG to run the contract checks against another server (a real
cluster, say) instead of the embedded one. They follow the Kubernetes API conventions but have
not been replayed against a real cluster yet; checks of this server's own knobs (window size,
bookmark interval, loopback latency) adapt or skip there.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from kubernetes import client, config

from harness.reference.apiserver.testing import start_apiserver

from .helpers import (
    CI_CRD,
    EXTERNAL,
    NETWORKED_CRD,
    WATCH_WINDOW,
    ensure_crd,
    load_crd,
    unique,
    widget_crd,
)
from .identities import Identities, start_identity_server


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory):
    if EXTERNAL:
        yield Path(EXTERNAL)
        return
    server = start_apiserver(
        tmp_path_factory.mktemp("apiserver"),
        extra_args=["--watch-window", str(WATCH_WINDOW), "--bookmark-interval", "0.5"],
    )
    try:
        yield server.kubeconfig
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(str(kubeconfig))


@pytest.fixture(scope="session")
def crds_ready(api_client: client.ApiClient) -> None:
    """The CRDs the checks use, created through the API like any client would."""
    ensure_crd(api_client, widget_crd())
    ensure_crd(api_client, widget_crd("gizmos", "Gizmo", status=False))
    ensure_crd(api_client, load_crd(CI_CRD))
    ensure_crd(api_client, load_crd(NETWORKED_CRD))


@pytest.fixture(scope="session")
def namespace(api_client: client.ApiClient, crds_ready: None):
    name = unique("contract")
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    with contextlib.suppress(client.ApiException):
        core.delete_namespace(name)


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def custom(api_client: client.ApiClient, crds_ready: None) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def crd_api(api_client: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api_client)


@pytest.fixture(scope="session")
def identities(tmp_path_factory: pytest.TempPathFactory):
    """A second embedded server with several users (`--tokens`) and the KubeVirt CRDs."""
    if EXTERNAL:
        pytest.skip("AccessRule and token checks need the embedded server")
    server = start_identity_server(tmp_path_factory.mktemp("identities"))
    try:
        yield Identities(server)
    finally:
        server.stop()
