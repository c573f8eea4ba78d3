"""The gRPC server: public and private `ComputeInstances` of one profile, reflection, health.

Reflection serves every file as protoc compiles it, json names included (`reflection_pool`).
Reflection and health need no token (as with Authorino in the real deployment); everything else
goes through `AuthInterceptor`.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from kubernetes import client as k8s

from harness.contract.fault_specs import FaultSpec
from harness.contract.profiles import Profile
from harness.contract.wire import load_wire
from harness.reference.component_client import load_api_client
from harness.reference.fulfillment.bearer_auth import Authenticator, AuthInterceptor
from harness.reference.fulfillment.fault_interceptor import FaultInterceptor
from harness.reference.fulfillment.instance_store import InstanceStore
from harness.reference.fulfillment.reflection_pool import served_pool
from harness.reference.fulfillment.service import ComputeInstancesService
from harness.reference.fulfillment.token_review import TokenReviewSource
from harness.reference.fulfillment.tokens import Identity

WORKERS = 16


class ServerError(RuntimeError):
    """The server cannot start; one line for the user."""


@dataclass(frozen=True)
class ServerOptions:
    """How to serve the fulfillment API. `__main__` fills every field from its flags; the
    embedded stack (`harness.reference.stack`) passes all of them but `--full-replace-update`."""

    profile: Profile
    """Naming era: which generated services and messages are served. Required. `--profile`."""

    kubeconfig: Path
    """Kubeconfig of the API server that holds the ComputeInstance CRs. Required.
    `--kubeconfig`."""

    hub_namespace: str
    """Namespace of the CRs the API creates and reads. Required. `--hub-namespace`."""

    tokens: dict[str, Identity] | None
    """Accepted bearer tokens and whom they stand for (`tokens.load_tokens`), or None to ask
    the Kubernetes API instead (`review`). Required. `--tokens` (the tokens file)."""

    host: str = "127.0.0.1"
    """Address to bind. Default loopback. `--host`."""

    port: int = 0
    """Port to bind; 0 picks a free one (the READY line says which). Default 0. `--port`."""

    tls_cert: Path | None = None
    """PEM certificate to serve TLS with, together with `tls_key`. Default None: plaintext.
    `--tls-cert`."""

    tls_key: Path | None = None
    """PEM private key of `tls_cert`. Default None. `--tls-key`."""

    full_replace_update: bool = False
    """Make the public Update ignore its mask and replace the whole spec, as fulfillment-service
    did before 0cff9a06. Default False. `--full-replace-update`."""

    faults: tuple[FaultSpec, ...] = ()
    """Parsed `--fault fulfillment:…` specs (`fault_interceptor.py`). Default none. `--fault`
    (repeatable)."""

    fault_seed: int = 0
    """Seed of the faults' random draws. Default 0. `--fault-seed`."""

    review: TokenReviewOptions | None = None
    """Authenticate tokens through the Kubernetes API's TokenReview (instead of `tokens`).
    Default None. `--token-review` with `--admin-subject` and `--tenant`."""


@dataclass(frozen=True)
class TokenReviewOptions:
    admins: tuple[str, ...]
    """Subjects that may call the private API (the AuthConfig's admins). `--admin-subject`."""

    tenant: str
    """The tenant every authenticated caller belongs to. `--tenant`."""


@dataclass
class RunningServer:
    server: grpc.Server
    health: health.HealthServicer
    host: str
    port: int

    @property
    def address(self) -> str:
        try:
            is_v6 = ipaddress.ip_address(self.host).version == 6
        except ValueError:
            is_v6 = False
        return f"[{self.host}]:{self.port}" if is_v6 else f"{self.host}:{self.port}"

    def stop(self, grace: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait(grace + 1)


def _credentials(options: ServerOptions) -> grpc.ServerCredentials | None:
    if options.tls_cert is None and options.tls_key is None:
        return None
    if options.tls_cert is None or options.tls_key is None:
        raise ServerError("--tls-cert and --tls-key go together")
    try:
        cert = options.tls_cert.read_bytes()
        key = options.tls_key.read_bytes()
    except OSError as error:
        raise ServerError(f"cannot read TLS file {error.filename}: {error.strerror}") from None
    if b"-----BEGIN" not in cert or b"-----BEGIN" not in key:
        raise ServerError("--tls-cert and --tls-key must be PEM files")
    return grpc.ssl_server_credentials([(key, cert)])


def _check_bindable(host: str, port: int, target: str) -> None:
    """Fail with a clear line before grpc does (grpc also logs its own multi-part error)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ServerError(f"cannot listen on {target}: {error.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ServerError(f"cannot listen on {target}: {error.strerror}") from None


def _token_source(
    options: ServerOptions, api_client: k8s.ApiClient
) -> dict[str, Identity] | TokenReviewSource:
    if (options.tokens is None) == (options.review is None):
        raise ServerError("give exactly one of --tokens and --token-review")
    if options.review is not None:
        return TokenReviewSource(api_client, options.review.admins, options.review.tenant)
    assert options.tokens is not None
    return options.tokens


def start_server(options: ServerOptions) -> RunningServer:
    profile = options.profile
    wire = load_wire(profile)
    credentials = _credentials(options)
    api_client = load_api_client(options.kubeconfig, pool_size=WORKERS, retries=1)
    store = InstanceStore(api_client, profile, options.hub_namespace)
    authenticator = Authenticator(
        _token_source(options, api_client), admin_services=[profile.grpc.private_service]
    )
    services = [profile.grpc.public_service, profile.grpc.private_service]
    interceptors: list[grpc.ServerInterceptor] = [AuthInterceptor(authenticator)]
    if options.faults:
        # Outermost: a fault answers before authentication, as a proxy in front would.
        interceptors.insert(0, FaultInterceptor(options.faults, options.fault_seed, services))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="rpc"),
        interceptors=interceptors,
        # Without this a second server could share a port that is already taken.
        options=[("grpc.so_reuseport", 0)],
    )
    hub = options.hub_namespace
    # Only the public Update ignored the mask before 0cff9a06 (contract §11.4).
    public = ComputeInstancesService(
        store,
        profile,
        wire.types,
        wire.service,
        hub=hub,
        full_replace_update=options.full_replace_update,
    )
    private = ComputeInstancesService(
        store, profile, wire.private_types, wire.private_service, hub=hub
    )
    wire.grpc.add_ComputeInstancesServicer_to_server(public, server)
    wire.private_grpc.add_ComputeInstancesServicer_to_server(private, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *services]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflected = [*services, health.SERVICE_NAME, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(
        reflected, server, pool=served_pool(reflected, sources=[wire.pool])
    )
    host = f"[{options.host}]" if ":" in options.host else options.host
    target = f"{host}:{options.port}"
    _check_bindable(options.host, options.port, target)
    try:
        if credentials is None:
            port = server.add_insecure_port(target)
        else:
            port = server.add_secure_port(target, credentials)
    except RuntimeError as error:
        raise ServerError(f"cannot listen on {target}: {error}") from None
    if not port:
        raise ServerError(f"cannot listen on {target}")
    server.start()
    return RunningServer(server, health_servicer, options.host, port)
