"""The port-forward supervisor keeps the forward alive: when the forwarding process dies it is
started again on the same local port, and traffic flows again; stop() leaves nothing behind.
A real TCP forwarder that prints kubectl's "Forwarding from" line stands in for kubectl."""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import sys
import threading
from pathlib import Path

import pytest

from harness.commands.port_forward import PortForward, PortForwardError, kubectl_command

FORWARDER = Path(__file__).with_name("forwarder.py")


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def round_trip(address: str, payload: bytes) -> bytes:
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def test_a_dropped_forward_is_restarted_on_the_same_port(echo_server):
    lines: list[str] = []
    forward = PortForward(
        lambda port: [sys.executable, str(FORWARDER), str(port), echo_server], lines.append
    )
    address = forward.start()
    try:
        assert round_trip(address, b"first") == b"first"
        first_pid = forward.pid
        os.kill(first_pid, signal.SIGKILL)
        assert forward.wait_restarted(1, timeout=60), lines
        assert forward.address == address and forward.pid != first_pid
        assert round_trip(address, b"again") == b"again"
        assert any("restarting on port" in line for line in lines)
    finally:
        forward.stop()
    last_pid = forward.pid
    with pytest.raises(ProcessLookupError):
        os.kill(last_pid, 0)
    with pytest.raises(OSError):
        round_trip(address, b"gone")


def test_a_forward_that_never_starts_says_what_kubectl_said(tmp_path):
    forward = PortForward(
        lambda port: [sys.executable, "-c", "print('error: services \"nope\" not found')"],
        lambda _: None,
    )
    with pytest.raises(PortForwardError, match='services "nope" not found'):
        forward.start()


def test_kubectl_command_names_the_service_namespace_and_ports():
    command = kubectl_command("osac", "svc/fulfillment-api", 8000, "/k", "ctx")
    assert command(0) == [
        "kubectl",
        "port-forward",
        "--address",
        "127.0.0.1",
        "-n",
        "osac",
        "--kubeconfig",
        "/k",
        "--context",
        "ctx",
        "svc/fulfillment-api",
        ":8000",
    ]
    assert command(41000)[-1] == "41000:8000"
