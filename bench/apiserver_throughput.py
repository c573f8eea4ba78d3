"""Throughput and latency of the embedded API server, at 100 and at 10 000 stored objects.

    python bench/apiserver_throughput.py [--json results.json] [--objects 10000] [--quick]

Two columns, because the official Python client alone costs about 0.66 ms of CPU per call:
(a) the official client, sequential, in this process (comparable with the floor table of
embedded-apiserver.md section 5); (b) server capacity, measured from a separate load-generator
process with a lean keep-alive aiohttp client (8 connections). The same load generator against
a trivial aiohttp echo server gives the transport ceiling of this machine. Objects are
ComputeInstances of the project's real CRD (schema plus seven CEL transition rules).

This is a script, not a test: it prints a table and optionally writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CRD = REPO / "harness" / "reference" / "crds" / "osac.openshift.io_computeinstances.yaml"
GROUP, VERSION, PLURAL = "osac.openshift.io", "v1alpha1", "computeinstances"
NAMESPACE = "bench"
CONNECTIONS = 8


def instance(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ComputeInstance",
        "metadata": {
            "name": name,
            "labels": {"osac.openshift.io/computeinstance-uuid": name},
            "annotations": {"osac.openshift.io/tenant": "tenant-harness"},
        },
        "spec": {
            "templateID": "osac.templates.ocp_virt_vm",
            "image": {
                "sourceType": "registry",
                "sourceRef": "quay.io/containerdisks/fedora:latest",
            },
            "cores": 2,
            "memoryGiB": 4,
            "bootDisk": {"sizeGiB": 20},
            "runStrategy": "Always",
            "sshKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbenchmarkkey",
        },
    }


def stamp(index: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_767_225_600 + index))


def status_body(index: int) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Running" if index % 2 else "Starting",
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if index % 2 else "False",
                    "reason": "AsExpected",
                    "message": "",
                    "lastTransitionTime": stamp(index),
                    "observedGeneration": 1,
                }
            ],
        }
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- (b) the lean load generator, run as a separate process ------------------------------


class LeanConnection:
    """HTTP/1.1 keep-alive over asyncio streams: pre-encoded requests, Content-Length bodies.

    A few microseconds of client CPU per request, so the server is what gets measured (the
    aiohttp client costs about as much CPU per request as the server does).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += f"Content-Type: {content_type}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


Request = tuple[str, str, bytes, str, int]  # method, path, body, content type, expected status
BASE = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{PLURAL}"
MERGE = "application/merge-patch+json"


def build_request(plan: dict[str, Any], step: dict[str, Any], index: int) -> Request:
    """The request number `index` of a throughput step."""
    kind, names, offset = step["op"], plan.get("names", []), plan.get("offset", 0)
    if kind == "create":
        body = json.dumps(instance(f"{plan['prefix']}-{step.get('tag', 'c')}-{index}")).encode()
        return "POST", BASE, body, "application/json", 201
    target = f"{BASE}/{names[index % len(names)]}" if names else BASE
    if kind == "patch":
        body = json.dumps({"spec": {"restartRequestedAt": stamp(index + offset)}}).encode()
        return "PATCH", target, body, MERGE, 200
    if kind == "status":
        return (
            "PATCH",
            f"{target}/status",
            json.dumps(status_body(index + offset)).encode(),
            MERGE,
            200,
        )
    if kind == "get":
        return "GET", target, b"", "", 200
    if kind == "echo_get":
        return "GET", "/echo", b"", "", 200
    if kind == "echo_post":
        return "POST", "/echo", json.dumps(instance("echo")).encode(), "application/json", 200
    raise ValueError(f"unknown step {kind}")


async def call(connection: LeanConnection, request: Request) -> bytes:
    method, path, body, content_type, expected = request
    status, payload = await connection.request(method, path, body, content_type)
    if status != expected:
        raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
    return payload


async def _loadgen(url: str, plan: dict[str, Any]) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    connections = [LeanConnection(host, int(port)) for _ in range(CONNECTIONS)]
    results: dict[str, Any] = {}
    for step in plan["steps"]:
        kind, count = step["op"], step.get("count", 0)
        if kind == "list":
            timings, body = [], b""
            for _ in range(step.get("repeat", 3)):
                began = time.perf_counter()
                body = await call(connections[0], ("GET", BASE, b"", "", 200))
                timings.append((time.perf_counter() - began) * 1000)
            results[step["key"]] = {"ms": statistics.median(timings), "bytes": len(body)}
        elif kind == "create_get":
            results[step["key"]] = await _create_get(connections[0], plan, step)
        else:
            counter = iter(range(count))

            async def worker(
                connection: LeanConnection, step: dict[str, Any] = step, counter: Any = counter
            ) -> None:
                for index in counter:
                    await call(connection, build_request(plan, step, index))

            began = time.perf_counter()
            await asyncio.gather(*(worker(connection) for connection in connections))
            results[step["key"]] = count / (time.perf_counter() - began)
    for connection in connections:
        connection.close()
    return results


async def _create_get(
    connection: LeanConnection, plan: dict[str, Any], step: dict[str, Any]
) -> dict[str, float]:
    """Sequential create-then-get pairs on one connection: latency, not throughput."""
    latencies: list[float] = []
    for index in range(step["count"]):
        method, path, body, content_type, expected = build_request(
            plan, {**step, "op": "create"}, index
        )
        name = json.loads(body)["metadata"]["name"]
        began = time.perf_counter()
        await call(connection, (method, path, body, content_type, expected))
        await call(connection, ("GET", f"{BASE}/{name}", b"", "", 200))
        latencies.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95)}


def loadgen(url: str, plan: dict[str, Any]) -> dict[str, Any]:
    """Run a plan in a separate process, so its CPU is not this process's."""
    completed = subprocess.run(
        [sys.executable, __file__, "--loadgen", url],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


# --- the trivial echo server: the transport ceiling --------------------------------------


def echo_server_main() -> None:
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=body or b"{}", content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", echo)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- (a) the official client, sequential, in this process --------------------------------


def official_client_phase(
    custom: Any, server_pid: int, prefix: str, offset: int, names: list[str]
) -> dict[str, Any]:
    """The floor-table run of embedded-apiserver.md section 5, with CPU per call on both sides."""

    def create(index: int) -> None:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, instance(f"{prefix}-c-{index}")
        )

    def patch(index: int) -> None:
        body = {"spec": {"restartRequestedAt": stamp(offset + index)}}
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, names[index % len(names)], body
        )

    def status(index: int) -> None:
        custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            NAMESPACE,
            PLURAL,
            names[index % len(names)],
            status_body(offset + index),
        )

    for index in range(20):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, PLURAL, instance(f"{prefix}-warm-{index}")
        )
    latencies = []
    for index in range(100):
        name = f"{prefix}-pair-{index}"
        began = time.perf_counter()
        custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, instance(name))
        custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, name)
        latencies.append((time.perf_counter() - began) * 1000)
    results: dict[str, Any] = {
        "create_get_p50_ms": percentile(latencies, 0.5),
        "create_get_p95_ms": percentile(latencies, 0.95),
    }
    for key, call in (("creates", create), ("merge_patches", patch), ("status_patches", status)):
        client_cpu, server_cpu = time.process_time(), cpu_seconds(server_pid)
        began = time.perf_counter()
        for index in range(500):
            call(index)
        results[f"{key}_per_s"] = 500 / (time.perf_counter() - began)
        results[f"{key}_client_cpu_ms"] = (time.process_time() - client_cpu) * 2
        results[f"{key}_server_cpu_ms"] = (cpu_seconds(server_pid) - server_cpu) * 2
    return results


def official_list_ms(custom: Any) -> float:
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL)
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def startup_seconds(state: Path, repeats: int = 3) -> float:
    """Spawn to first successful GET /version, with the ComputeInstance CRD loaded."""
    import urllib.request

    from harness.reference.process import ComponentProcess

    timings = []
    for attempt in range(repeats):
        process = ComponentProcess(
            "apiserver",
            "harness.reference.apiserver",
            ["--port", "0", "--crd", str(CRD)],
            state / f"startup-{attempt}.log",
        )
        began = time.perf_counter()
        process.start()
        info = process.wait_ready(30)
        with urllib.request.urlopen(f"{info['url']}/version", timeout=5) as response:
            response.read()
        timings.append(time.perf_counter() - began)
        process.stop()
    return statistics.median(timings)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lean_phase(server: Any, names: list[str], prefix: str, offset: int, ops: int) -> dict[str, Any]:
    """Each measurement in its own load-generator run, with the server's CPU time per request."""
    results: dict[str, Any] = {}
    steps = [
        {"op": "create", "count": ops, "key": "creates_per_s"},
        {"op": "patch", "count": ops, "key": "merge_patches_per_s"},
        {"op": "status", "count": ops, "key": "status_patches_per_s"},
        {"op": "get", "count": ops, "key": "gets_per_s"},
        {"op": "create_get", "count": 200, "key": "create_get", "tag": "p"},
    ]
    for step in steps:
        before = cpu_seconds(server.pid)
        plan = {"prefix": prefix, "names": names, "offset": offset, "steps": [step]}
        results.update(loadgen(server.url, plan))
        cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / step["count"]
        results[step["key"].replace("_per_s", "") + "_server_cpu_ms"] = cpu_ms
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    from kubernetes import client, config

    from harness.reference.apiserver.testing import start_apiserver

    total = args.objects
    results: dict[str, Any] = {
        "objects": total,
        "connections": CONNECTIONS,
        "python": sys.version.split()[0],
    }
    with tempfile.TemporaryDirectory(prefix="apiserver-bench-") as tmp:
        state = Path(tmp)
        results["startup_to_version_s"] = startup_seconds(state)
        server = start_apiserver(
            state / "server", crds=[CRD], extra_args=["--watch-window", "10000"]
        )
        try:
            api_client = config.new_client_from_config(str(server.kubeconfig))
            custom = client.CustomObjectsApi(api_client)
            client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NAMESPACE}})
            seed = [f"s-c-{index}" for index in range(100)]
            loadgen(
                server.url,
                {"prefix": "s", "steps": [{"op": "create", "count": 100, "key": "seed"}]},
            )
            small: dict[str, Any] = {"stored_at_start": 100}
            small["lean"] = loadgen(
                server.url, {"prefix": "a", "steps": [{"op": "list", "key": "list"}]}
            )
            small["official_list_ms"] = official_list_ms(custom)
            small["official"] = official_client_phase(custom, server.pid, "oa", 0, seed)
            small["lean"].update(lean_phase(server, seed, "la", 10_000, args.ops))
            stored = 100 + 20 + 100 + 500 + args.ops + 200
            fill = max(0, total - stored)
            if fill:
                loadgen(
                    server.url,
                    {"prefix": "f", "steps": [{"op": "create", "count": fill, "key": "fill"}]},
                )
            large: dict[str, Any] = {"stored_at_start": stored + fill}
            large["lean"] = loadgen(
                server.url, {"prefix": "b", "steps": [{"op": "list", "key": "list"}]}
            )
            large["official_list_ms"] = official_list_ms(custom)
            large["official"] = official_client_phase(custom, server.pid, "ob", 20_000, seed)
            large["lean"].update(lean_phase(server, seed, "lb", 30_000, args.ops))
            results["rss_mb_at_end"] = rss_mb(server.pid or 0)
            results["stored_at_end"] = large["stored_at_start"] + 20 + 100 + 500 + args.ops + 200
            results["small"], results["large"] = small, large
        finally:
            server.stop()
        results["echo"] = echo_baseline(args.ops)
    results["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    return results


def echo_baseline(ops: int) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--echo-server"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        port = json.loads(process.stdout.readline())["port"]
        return loadgen(
            f"http://127.0.0.1:{port}",
            {
                "prefix": "e",
                "steps": [
                    {"op": "echo_get", "count": ops, "key": "gets_per_s"},
                    {"op": "echo_post", "count": ops, "key": "posts_per_s"},
                ],
            },
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def print_table(results: dict[str, Any]) -> None:
    small, large, echo = results["small"], results["large"], results["echo"]

    def row(label: str, a_small: str, a_large: str, b_small: str, b_large: str) -> None:
        print(f"{label:<26}{a_small:>14}{a_large:>14}{b_small:>14}{b_large:>14}")

    def ops(value: float) -> str:
        return f"{value:,.0f}/s"

    print()
    print(
        "stored objects at start of phase:",
        small["stored_at_start"],
        "and",
        large["stored_at_start"],
    )
    row("", "(a) official", "(a) official", "(b) server", "(b) server")
    row(
        "",
        f"@{small['stored_at_start']}",
        f"@{large['stored_at_start']}",
        f"@{small['stored_at_start']}",
        f"@{large['stored_at_start']}",
    )
    oa, ob, la, lb = small["official"], large["official"], small["lean"], large["lean"]
    row(
        "creates",
        ops(oa["creates_per_s"]),
        ops(ob["creates_per_s"]),
        ops(la["creates_per_s"]),
        ops(lb["creates_per_s"]),
    )
    row(
        "merge patches",
        ops(oa["merge_patches_per_s"]),
        ops(ob["merge_patches_per_s"]),
        ops(la["merge_patches_per_s"]),
        ops(lb["merge_patches_per_s"]),
    )
    row(
        "status patches",
        ops(oa["status_patches_per_s"]),
        ops(ob["status_patches_per_s"]),
        ops(la["status_patches_per_s"]),
        ops(lb["status_patches_per_s"]),
    )
    row("gets", "", "", ops(la["gets_per_s"]), ops(lb["gets_per_s"]))
    for key, label in (("creates", "create"), ("merge_patches", "merge patch")):
        row(
            f"  client CPU/{label} (ms)",
            f"{oa[f'{key}_client_cpu_ms']:.3f}",
            f"{ob[f'{key}_client_cpu_ms']:.3f}",
            "",
            "",
        )
    for key, label in (
        ("creates", "create"),
        ("merge_patches", "merge patch"),
        ("status_patches", "status patch"),
        ("gets", "get"),
    ):
        official = [
            f"{o[f'{key}_server_cpu_ms']:.3f}" if f"{key}_server_cpu_ms" in o else ""
            for o in (oa, ob)
        ]
        cpu_small, cpu_large = la[f"{key}_server_cpu_ms"], lb[f"{key}_server_cpu_ms"]
        row(f"  server CPU/{label} (ms)", *official, f"{cpu_small:.3f}", f"{cpu_large:.3f}")
    row(
        "create+get p50 (ms)",
        f"{oa['create_get_p50_ms']:.2f}",
        f"{ob['create_get_p50_ms']:.2f}",
        f"{la['create_get']['p50_ms']:.2f}",
        f"{lb['create_get']['p50_ms']:.2f}",
    )
    row(
        "create+get p95 (ms)",
        f"{oa['create_get_p95_ms']:.2f}",
        f"{ob['create_get_p95_ms']:.2f}",
        f"{la['create_get']['p95_ms']:.2f}",
        f"{lb['create_get']['p95_ms']:.2f}",
    )
    row(
        "list all (ms)",
        f"{small['official_list_ms']:.1f}",
        f"{large['official_list_ms']:.1f}",
        f"{la['list']['ms']:.1f}",
        f"{lb['list']['ms']:.1f}",
    )
    print()
    print(
        "transport ceiling (aiohttp echo, same load generator):",
        f"GET {ops(echo['gets_per_s'])}, POST {ops(echo['posts_per_s'])}",
    )
    print(f"startup to first /version: {results['startup_to_version_s']:.3f} s")
    print(f"load average during the run: {results['load_average']}")
    print(f"RSS with {results['stored_at_end']} objects: {results['rss_mb_at_end']:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--objects", type=int, default=10_000, help="store size of the large phase")
    parser.add_argument(
        "--ops", type=int, default=2000, help="operations per lean-client measurement"
    )
    parser.add_argument("--loadgen", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        print(json.dumps(asyncio.run(_loadgen(args.loadgen, json.loads(sys.stdin.read())))))
        return
    if args.echo_server:
        echo_server_main()
        return
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    results = run(args)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
