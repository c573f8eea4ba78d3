"""`--fault fulfillment:…`: UNAVAILABLE / DEADLINE_EXCEEDED at a seeded rate for chosen methods,
and latency; over real sockets with grpc, the embedded API server behind."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harness.contract.fault_specs import Chance
from harness.contract.profiles import OSAC
from harness.contract.wire import WireModules, load_wire
from harness.reference.process import ComponentProcess
from tests.fulfillment.helpers import (
    ADMIN_TOKEN,
    USER_TOKEN,
    bearer,
    call_error,
    kube_api,
    start_apiserver,
    start_fulfillment,
)

SEED = 11
RATED = "fulfillment:error=UNAVAILABLE,rate=0.3,methods=Get"
FAULTS = [
    RATED,
    "fulfillment:error=DEADLINE_EXCEEDED,methods=Delete",
    "fulfillment:latency=300ms,methods=List",
]
TEMPLATE = "osac.templates.ocp_virt_vm"
USER = bearer(USER_TOKEN)


@dataclass
class Served:
    wire: WireModules
    public: Any
    private: Any
    channel: grpc.Channel
    kubeconfig: Path
    process: ComponentProcess

    def create(self) -> Any:
        request = self.wire.service.ComputeInstancesCreateRequest(
            object=self.wire.types.ComputeInstance(
                spec=self.wire.types.ComputeInstanceSpec(template=TEMPLATE)
            )
        )
        return self.public.Create(request, metadata=USER, timeout=10).object

    def get(self, instance_id: str) -> Any:
        request = self.wire.service.ComputeInstancesGetRequest(id=instance_id)
        return self.public.Get(request, metadata=USER, timeout=10)


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("fulfillment-faults")
    process, kubeconfig = start_apiserver(tmp, OSAC)
    try:
        yield tmp, kubeconfig
    finally:
        process.stop()


def _serve(tmp: Path, kubeconfig: Path, faults: list[str]) -> Served:
    args = [arg for spec in faults for arg in ("--fault", spec)]
    process, address = start_fulfillment(tmp, OSAC, kubeconfig, *args, "--fault-seed", str(SEED))
    wire = load_wire(OSAC)
    channel = grpc.insecure_channel(address)
    return Served(
        wire,
        wire.grpc.ComputeInstancesStub(channel),
        wire.private_grpc.ComputeInstancesStub(channel),
        channel,
        kubeconfig,
        process,
    )


@pytest.fixture(scope="module")
def served(apiserver) -> Iterator[Served]:
    tmp, kubeconfig = apiserver
    running = _serve(tmp, kubeconfig, FAULTS)
    try:
        yield running
    finally:
        running.channel.close()
        running.process.stop()


def _code(call: Any, *args: Any, **kwargs: Any) -> str:
    try:
        call(*args, **kwargs)
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def test_unavailable_at_a_seeded_rate_only_for_the_chosen_method(served: Served):
    created = served.create()
    codes = []
    for _ in range(40):
        codes.append(_code(served.get, created.id))
        update = served.wire.service.ComputeInstancesUpdateRequest(
            object=served.wire.types.ComputeInstance(
                id=created.id, spec=served.wire.types.ComputeInstanceSpec(template=TEMPLATE)
            )
        )
        assert _code(served.public.Update, update, metadata=USER, timeout=10) == "OK"
    chance = Chance(0.3, f"{SEED}/fulfillment/0/{RATED}")
    assert codes == ["UNAVAILABLE" if chance.fires() else "OK" for _ in range(40)]
    assert 3 < codes.count("UNAVAILABLE") < 25


def test_an_injected_error_runs_nothing(served: Served):
    created = served.create()
    request = served.wire.service.ComputeInstancesDeleteRequest(id=created.id)
    error = call_error(served.public.Delete, request, metadata=USER)
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert error.details() == "injected fault (fulfillment:error=DEADLINE_EXCEEDED,methods=Delete)"
    p = OSAC
    cr = kube_api(served.kubeconfig).get_namespaced_custom_object(
        p.group, p.version, p.hub_namespace, p.plural, created.metadata.name
    )
    assert not cr["metadata"].get("deletionTimestamp")


def test_latency_delays_the_chosen_method(served: Served):
    request = served.wire.service.ComputeInstancesListRequest()
    started = time.monotonic()
    served.public.List(request, metadata=USER, timeout=10)
    assert 0.3 <= time.monotonic() - started < 2.0
    started = time.monotonic()
    served.private.List(
        served.wire.private_service.ComputeInstancesListRequest(),
        metadata=bearer(ADMIN_TOKEN),
        timeout=10,
    )
    assert time.monotonic() - started >= 0.3  # both services' List


def test_faults_come_before_authentication_and_never_touch_health(apiserver):
    tmp, kubeconfig = apiserver
    running = _serve(tmp, kubeconfig, ["fulfillment:error=UNAVAILABLE"])
    try:
        health = health_pb2_grpc.HealthStub(running.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        request = running.wire.service.ComputeInstancesListRequest()
        for metadata in (USER, bearer("not-a-token"), ()):
            error = call_error(running.public.List, request, metadata=metadata)
            assert error.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        running.channel.close()
        running.process.stop()


def test_a_bad_fault_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.reference.fulfillment",
            "--kubeconfig",
            str(tmp_path / "unused"),
            "--profile",
            "osac",
            "--hub-namespace",
            "hub",
            "--tokens",
            str(tmp_path / "unused.json"),
            "--fault",
            "fulfillment:error=ABORTED",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "fulfillment: error: fault 'fulfillment:error=ABORTED': error must be one of "
        "UNAVAILABLE, DEADLINE_EXCEEDED, got 'ABORTED'"
    )
