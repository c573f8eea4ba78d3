"""The objects and files that make kwok's simulated pods stand for the stack's local processes:
the fulfillment API's Deployment and Service, kwok's port forward and log configuration, the
reserved port, and the operator's container log in the CRI format (no control plane needed;
test_real_stack.py uses them on one)."""

from __future__ import annotations

import errno
import re
import socket
from datetime import UTC, datetime

import pytest

from harness.contract.profiles import OSAC
from harness.reference.controlplane.container_log import ContainerLog, cri_line
from harness.reference.controlplane.workloads import api_objects, kwok_config, reserve_port

# What the kubelet's CRI log parser accepts: time, stream, tag, content.
CRI = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (F|P) (.*)$")
API_USER = "system:serviceaccount:osac-computeinstance:fulfillment-controller"
CALLERS = [
    "system:serviceaccount:tenant-harness:e2e",
    "system:serviceaccount:osac-computeinstance:admin",
]


def test_the_fulfillment_api_is_a_deployment_behind_the_osac_service():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in api_objects(OSAC, API_USER, CALLERS)}
    assert set(objects) == {
        ("ServiceAccount", "e2e"),
        ("ServiceAccount", "admin"),
        ("Deployment", "fulfillment-api"),
        ("Service", "fulfillment-api"),
    }
    assert objects[("ServiceAccount", "e2e")]["metadata"]["namespace"] == "tenant-harness"
    service, deployment = (
        objects[("Service", "fulfillment-api")],
        objects[("Deployment", "fulfillment-api")],
    )
    assert (
        service["metadata"]["namespace"]
        == deployment["metadata"]["namespace"]
        == OSAC.hub_namespace
    )
    assert service["spec"]["ports"] == [{"name": "api", "port": 8000, "targetPort": "api"}]
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["serviceAccountName"] == "fulfillment-controller"
    (container,) = pod["spec"]["containers"]
    assert container["ports"] == [{"name": "api", "containerPort": 8000}]


def test_kwok_forwards_port_8000_of_the_hub_and_serves_the_operator_log(tmp_path):
    forward, logs = kwok_config(OSAC, "127.0.0.1", 4321, tmp_path / "operator.log")
    assert forward["kind"] == "ClusterPortForward"
    assert forward["spec"]["selector"] == {"matchNamespaces": [OSAC.hub_namespace]}
    assert forward["spec"]["forwards"] == [
        {"ports": [8000], "target": {"address": "127.0.0.1", "port": 4321}}
    ]
    assert logs["kind"] == "ClusterLogs"
    assert logs["spec"]["selector"] == {"matchNamespaces": [OSAC.operator_namespace]}
    assert logs["spec"]["logs"] == [
        {"containers": ["manager"], "logsFile": str(tmp_path / "operator.log"), "follow": True}
    ]


def test_a_reserved_port_is_nobody_elses_until_the_api_binds_it():
    reserved = reserve_port("127.0.0.1")
    port = reserved.getsockname()[1]
    try:
        with socket.socket() as other, pytest.raises(OSError) as refused:
            other.bind(("127.0.0.1", port))
        assert refused.value.errno == errno.EADDRINUSE
        # The fulfillment API (gRPC binds with SO_REUSEADDR) serves there meanwhile.
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
    finally:
        reserved.close()


def test_cri_lines_are_what_the_kubelet_parses():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    line = cri_line("2026-01-02T04:04:05.678 controller INFO hello: a b", moment)
    stamp = "2026-01-02T03:04:05.678901000Z"
    assert line == f"{stamp} stderr F 2026-01-02T04:04:05.678 controller INFO hello: a b\n"
    assert CRI.match(line.rstrip("\n"))


def test_the_container_log_holds_what_the_component_wrote_after_it_started(tmp_path):
    source, target = tmp_path / "controller.log", tmp_path / "containers" / "manager.log"
    source.write_text("an earlier run's line\n")
    log = ContainerLog(source, target).start()
    with source.open("a") as out:
        out.write("first line\nsecond line, ü\nthird line without its newline yet")
    log.stop()  # copies what is there before it ends
    lines = target.read_text().splitlines()
    assert [CRI.match(line).group(3) for line in lines] == ["first line", "second line, ü"]
    assert all(CRI.match(line).group(1) == "stderr" for line in lines)


def test_the_container_log_waits_for_a_component_log_that_is_not_there_yet(tmp_path):
    source, target = tmp_path / "controller.log", tmp_path / "manager.log"
    log = ContainerLog(source, target).start()
    source.write_text("started\n")
    log.stop()
    assert [CRI.match(line).group(3) for line in target.read_text().splitlines()] == ["started"]
