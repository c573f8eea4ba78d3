"""The fulfillment process over a real socket, without an API server behind it: CLI errors,
READY line, authentication, reflection, health, and UNAVAILABLE when Kubernetes is down."""

from __future__ import annotations

import socket
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from harness.contract.profiles import OSAC, Profile
from harness.contract.profiles import PROFILES as PROFILES_BY_NAME
from harness.contract.wire import load_wire
from harness.reference.tls import write_server_certificate
from tests.eras import EVERY_PROFILE
from tests.fulfillment.helpers import (
    ADMIN_TOKEN,
    USER_SUBJECT,
    USER_TOKEN,
    bearer,
    call_error,
    start_fulfillment,
    write_kubeconfig,
    write_tokens,
)

PROFILES = EVERY_PROFILE


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", params=PROFILES)
def served(request, tmp_path_factory):
    """One server per profile whose kubeconfig points at a closed port."""
    profile = request.param
    tmp = tmp_path_factory.mktemp(f"fulfillment-{profile.name}")
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", f"http://127.0.0.1:{closed_port()}")
    process, address = start_fulfillment(tmp, profile, kubeconfig)
    channel = grpc.insecure_channel(address)
    yield profile, load_wire(profile), channel, process
    channel.close()
    process.stop()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.reference.fulfillment", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_bad_cli_input_gives_one_line_and_exit_2(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    tokens = write_tokens(tmp_path / "tokens.json", OSAC)
    (tmp_path / "broken.json").write_text("[1")
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    base = ["--kubeconfig", str(kubeconfig), "--hub-namespace", "osac-computeinstance"]
    cases = {
        "--profile": [*base, "--tokens", str(tokens), "--profile", "nope"],
        "required": ["--profile", "osac"],
        "tokens file": [*base, "--profile", "osac", "--tokens", str(tmp_path / "x.json")],
        "not valid JSON": [*base, "--profile", "osac", "--tokens", str(tmp_path / "broken.json")],
        "--port": [*base, "--profile", "osac", "--tokens", str(tokens), "--port", "70000"],
        "--hub-namespace": [
            "--kubeconfig",
            str(kubeconfig),
            "--hub-namespace",
            "Bad_NS",
            "--profile",
            "osac",
            "--tokens",
            str(tokens),
        ],
        "kubeconfig": [
            "--kubeconfig",
            str(tmp_path / "none.yaml"),
            "--hub-namespace",
            "osac-computeinstance",
            "--profile",
            "osac",
            "--tokens",
            str(tokens),
        ],
        "go together": [
            *base,
            "--profile",
            "osac",
            "--tokens",
            str(tokens),
            "--tls-cert",
            str(tmp_path / "cert.pem"),
        ],
        "not allowed with argument --tokens": [
            *base,
            *("--profile", "osac", "--tokens", str(tokens), "--token-review"),
        ],
        "one of the arguments --tokens --token-review is required": [*base, "--profile", "osac"],
        "at least one --admin-subject": [
            *base,
            *("--profile", "osac", "--token-review", "--tenant", "t"),
        ],
        "--tenant: missing": [
            *base,
            *("--profile", "osac", "--token-review", "--admin-subject", "system:admin"),
        ],
        "--admin-subject goes with --token-review": [
            *base,
            *("--profile", "osac", "--tokens", str(tokens), "--admin-subject", "system:admin"),
        ],
        "--admin-subject: ' x'": [
            *base,
            *("--profile", "osac", "--token-review", "--tenant", "t", "--admin-subject= x"),
        ],
    }
    for fragment, args in cases.items():
        result = run_cli(*args)
        assert result.returncode == 2, (fragment, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (fragment, result.stderr)
        assert lines[0].startswith("fulfillment: error: "), lines[0]
        assert fragment in lines[0], (fragment, lines[0])
        assert result.stdout == ""


def test_port_in_use_is_a_one_line_error(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    tokens = write_tokens(tmp_path / "tokens.json", OSAC)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "--kubeconfig",
            str(kubeconfig),
            "--profile",
            "osac",
            "--hub-namespace",
            "osac-computeinstance",
            "--tokens",
            str(tokens),
            "--port",
            str(port),
        )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("fulfillment: error: cannot listen on 127.0.0.1:")


def test_ready_line_and_sigterm(tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    process, address = start_fulfillment(tmp_path, OSAC, kubeconfig)
    try:
        assert process.info["component"] == "fulfillment"
        assert address == f"127.0.0.1:{process.info['port']}"
        assert process.poll() is None
    finally:
        process.stop(grace=10)
    assert process.poll() == 0, "SIGTERM must end the server cleanly (SIGKILL would give -9)"


def test_authentication_over_the_socket(served):
    profile, wire, channel, _process = served
    public = wire.grpc.ComputeInstancesStub(channel)
    private = wire.private_grpc.ComputeInstancesStub(channel)
    request = wire.service.ComputeInstancesListRequest()
    private_request = wire.private_service.ComputeInstancesListRequest()

    error = call_error(public.List, request)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in error.details()
    error = call_error(public.List, request, metadata=bearer("wrong"))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "invalid token" in error.details()
    error = call_error(private.List, private_request, metadata=bearer(USER_TOKEN))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert USER_SUBJECT in error.details()
    assert profile.grpc.private_service in error.details()

    # Authenticated calls reach Kubernetes, which is down here.
    for stub, message, token in (
        (public, request, USER_TOKEN),
        (private, private_request, ADMIN_TOKEN),
    ):
        error = call_error(stub.List, message, metadata=bearer(token))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "API server is unreachable" in error.details()


def test_health_is_open_and_serving(served):
    profile, _wire, channel, _process = served
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", profile.grpc.public_service, profile.grpc.private_service):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_is_open_and_lists_the_profile_services(served):
    profile, _wire, channel, _process = served
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = list(
        stub.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol=profile.grpc.public_service
                    ),
                ]
            ),
            timeout=10,
        )
    )
    names = {service.name for service in responses[0].list_services_response.service}
    assert {profile.grpc.public_service, profile.grpc.private_service} <= names
    assert "grpc.health.v1.Health" in names
    assert other_service(profile).grpc.public_service not in names
    assert responses[1].file_descriptor_response.file_descriptor_proto


def other_service(profile: Profile) -> Profile:
    """A profile whose public service has another name than `profile`'s."""
    return next(
        other
        for other in PROFILES_BY_NAME.values()
        if other.grpc.public_service != profile.grpc.public_service
    )


def test_wrong_profile_service_is_unimplemented(served):
    profile, _wire, channel, _process = served
    other = load_wire(other_service(profile))
    stub = other.grpc.ComputeInstancesStub(channel)
    error = call_error(
        stub.List, other.service.ComputeInstancesListRequest(), metadata=bearer(USER_TOKEN)
    )
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_tls(tmp_path):
    ca, cert, key = write_server_certificate(tmp_path / "tls", ["127.0.0.1", "localhost"])
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{closed_port()}")
    process, address = start_fulfillment(
        tmp_path, OSAC, kubeconfig, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    wire = load_wire(OSAC)
    secure = grpc.secure_channel(
        address, grpc.ssl_channel_credentials(root_certificates=ca.read_bytes())
    )
    plain = grpc.insecure_channel(address)
    try:
        health = health_pb2_grpc.HealthStub(secure)
        response = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
        error = call_error(
            wire.grpc.ComputeInstancesStub(secure).List,
            wire.service.ComputeInstancesListRequest(),
            metadata=bearer(USER_TOKEN),
        )
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # authenticated; Kubernetes is down
        error = call_error(health_pb2_grpc.HealthStub(plain).Check, health_pb2.HealthCheckRequest())
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # no plaintext on a TLS port
    finally:
        secure.close()
        plain.close()
        process.stop()
