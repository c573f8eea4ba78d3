"""Throughput and latency of the embedded API server at 100, 1 000 and 10 000 stored objects.

    python bench/apiserver_throughput.py [--sizes 100,1000,10000] [--ops 2000] [--clients 3]
        [--watchers 50] [--out FILE]

For each size, a fresh server is filled to that many ComputeInstances (the project's real CRD:
schema plus seven CEL transition rules) and measured two ways:
(a) the official client, sequential, in this process (what the harness and the reference
components see; client-bound: the client's own CPU sets the pace);
(b) server capacity: `--clients` load-generator processes started on a shared signal, each a
lean keep-alive HTTP/1.1 client on 8 connections; rates are all their operations over the span
from the first start to the last end, with the server's CPU time per request.
The same load generators against a trivial aiohttp echo server give the transport ceiling of
this machine (the same-run baseline). At the largest size: watch delivery latency to 1 and to
`--watchers` concurrent streams (from the writer's send time, taken just before the request,
to the line being read by the watcher process), and RSS. Start-up: spawn to READY and to the
first answered GET /version.

This is a script, not a test: it prints a table and writes JSON (bench/results/ by default).
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

from benchlib import cpu_seconds, percentile, print_table, rss_mb, write_json

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CRD = REPO / "harness" / "reference" / "crds" / "osac.openshift.io_computeinstances.yaml"
GROUP, VERSION, PLURAL = "osac.openshift.io", "v1alpha1", "computeinstances"
NAMESPACE = "bench"
CONNECTIONS = 8
# The measured server speaks plain HTTP (`--plain-http`), so that what is measured is the server
# and not TLS, as in the figures of docs/performance.md; its token reaches the load generators
# through the environment.
TOKEN_ENV = "BENCH_APISERVER_TOKEN"
PLAIN_HTTP = "--plain-http"


def authorization() -> dict[str, str]:
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


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


# --- (b) the lean load generator, run as a separate process ------------------------------


class LeanConnection:
    """HTTP/1.1 keep-alive over asyncio streams: pre-encoded requests, Content-Length bodies.

    Far less client CPU per request than the server spends, so the server is what gets
    measured (the aiohttp client costs about as much CPU per request as the server does).
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
        for name, value in authorization().items():
            head += f"{name}: {value}\r\n"
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
        tag = f"{step.get('tag', 'c')}{plan.get('client', '')}"
        body = json.dumps(instance(f"{plan['prefix']}-{tag}-{index}")).encode()
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


async def _loadgen(url: str, plan: dict[str, Any], go: Any = None) -> dict[str, Any]:
    """One load-generator process: its share of each step, on CONNECTIONS connections.

    Throughput steps report {count, start, end} (wall clock), so the parent can add up several
    processes that ran at the same time; list and create+get run in client 0 only."""
    host, port = url.removeprefix("http://").split(":")
    client, clients = plan.get("client", 0), plan.get("clients", 1)
    connections = [LeanConnection(host, int(port)) for _ in range(CONNECTIONS)]
    for connection in connections:
        await connection.request("GET", "/version")
    if go is not None:
        await go()
    results: dict[str, Any] = {}
    for step in plan["steps"]:
        kind, count = step["op"], step.get("count", 0)
        if kind == "list":
            if client:
                continue
            timings, body = [], b""
            for _ in range(step.get("repeat", 3)):
                began = time.perf_counter()
                body = await call(connections[0], ("GET", BASE, b"", "", 200))
                timings.append((time.perf_counter() - began) * 1000)
            results[step["key"]] = {"ms": statistics.median(timings), "bytes": len(body)}
        elif kind == "create_get":
            if not client:
                results[step["key"]] = await _create_get(connections[0], plan, step)
        else:
            counter = iter(range(client, count, clients))

            async def worker(
                connection: LeanConnection, step: dict[str, Any] = step, counter: Any = counter
            ) -> None:
                for index in counter:
                    await call(connection, build_request(plan, step, index))

            began = time.time()
            await asyncio.gather(*(worker(connection) for connection in connections))
            share = len(range(client, count, clients))
            results[step.get("key", kind)] = {"count": share, "start": began, "end": time.time()}
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


def loadgen(url: str, plan: dict[str, Any], clients: int = 1) -> dict[str, Any]:
    """Run a plan in `clients` separate processes at once (none of them is this process).

    Each process connects, says ready, and starts on a shared "go"; a throughput step's rate
    is the operations of all processes over the span from the first start to the last end."""
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--loadgen", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    try:
        for index, process in enumerate(processes):
            assert process.stdin is not None
            process.stdin.write(json.dumps({**plan, "client": index, "clients": clients}) + "\n")
            process.stdin.flush()
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"load generator failed:\n{process.communicate()[1][-3000:]}")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = []
        for process in processes:
            out, err = process.communicate(timeout=900)
            if process.returncode != 0:
                raise RuntimeError(f"load generator failed:\n{err[-3000:]}")
            outputs.append(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    merged: dict[str, Any] = {}
    for output in outputs:
        for key, value in output.items():
            if isinstance(value, dict) and "count" in value:
                spans = merged.setdefault(key, [])
                spans.append(value)
            else:
                merged.setdefault(key, value)
    for key, spans in list(merged.items()):
        if isinstance(spans, list):
            wall = max(s["end"] for s in spans) - min(s["start"] for s in spans)
            merged[key] = sum(s["count"] for s in spans) / wall
    return merged


def _loadgen_main(url: str) -> None:
    plan = json.loads(sys.stdin.readline())

    async def go() -> None:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    print(json.dumps(asyncio.run(_loadgen(url, plan, go))))


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
    custom: Any, server_pid: int, prefix: str, offset: int, names: list[str], calls: int = 500
) -> dict[str, Any]:
    """Create+get round trips, then creates, merge patches and status patches through the
    official client, with CPU per call on both sides."""

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
        for index in range(calls):
            call(index)
        results[f"{key}_per_s"] = calls / (time.perf_counter() - began)
        results[f"{key}_client_cpu_ms"] = (time.process_time() - client_cpu) * 1000 / calls
        results[f"{key}_server_cpu_ms"] = (cpu_seconds(server_pid) - server_cpu) * 1000 / calls
    return results


def official_list_ms(custom: Any) -> float:
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL)
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def startup_seconds(state: Path, repeats: int = 3) -> dict[str, float]:
    """Spawn to the READY line, and spawn to the first answered GET /version (CRD loaded), of
    the server as it starts by default: HTTPS with a certificate of its own."""
    import base64
    import ssl
    import urllib.request

    from harness.reference.process import ComponentProcess

    ready, answered = [], []
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
        ready.append(time.perf_counter() - began)
        trust = base64.b64decode(info["certificate_authority_data"]).decode()
        context = ssl.create_default_context(cadata=trust)
        version = f"{info['url']}/version"
        with urllib.request.urlopen(version, timeout=5, context=context) as response:
            response.read()
        answered.append(time.perf_counter() - began)
        process.stop()
    return {"ready_s": statistics.median(ready), "first_version_s": statistics.median(answered)}


def lean_phase(
    server: Any, names: list[str], prefix: str, offset: int, ops: int, clients: int
) -> dict[str, Any]:
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
        results.update(loadgen(server.url, plan, 1 if step["op"] == "create_get" else clients))
        cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / step["count"]
        results[step["key"].replace("_per_s", "") + "_server_cpu_ms"] = cpu_ms
    return results


# --- watch delivery: N concurrent watchers, latency from the write's send to each delivery ---

DELIVERY_NAMESPACE = "delivery"
SENT = b'"bench.osac.dev/sent":"'


async def _watchers(url: str, count: int, expected: int, go: Any) -> list[float]:
    """`count` watch streams on the delivery namespace; per delivered line, now - sent."""
    import aiohttp

    path = f"/apis/{GROUP}/{VERSION}/namespaces/{DELIVERY_NAMESPACE}/{PLURAL}"
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(url, timeout=timeout, headers=authorization()) as session:
        async with session.get(path) as response:
            rv = (await response.json())["metadata"]["resourceVersion"]
        responses = [
            await session.get(path, params={"watch": "true", "resourceVersion": rv})
            for _ in range(count)
        ]

        async def read(response: aiohttp.ClientResponse) -> None:
            seen = 0
            async for line in response.content:
                now = time.time()
                at = line.find(SENT)
                if at < 0:
                    continue
                sent = float(line[at + len(SENT) : line.index(b'"', at + len(SENT))])
                latencies.append((now - sent) * 1000)
                seen += 1
                if seen == expected:
                    break
            response.close()

        await go()
        await asyncio.wait_for(asyncio.gather(*(read(r) for r in responses)), 300)
    return latencies


def _watchers_main(url: str) -> None:
    count, expected = map(int, sys.stdin.readline().split())

    async def go() -> None:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    print(json.dumps(asyncio.run(_watchers(url, count, expected, go))))


async def _stamped_writes(url: str, writes: int, interval: float, prefix: str) -> None:
    """Paced creates carrying their send time, as the writer of the delivery measurement."""
    host, port = url.removeprefix("http://").split(":")
    connection = LeanConnection(host, int(port))
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{DELIVERY_NAMESPACE}/{PLURAL}"
    began = time.perf_counter()
    for index in range(writes):
        body = instance(f"{prefix}-{index}")
        body["metadata"]["annotations"]["bench.osac.dev/sent"] = repr(time.time())
        await call(connection, ("POST", path, json.dumps(body).encode(), "application/json", 201))
        pause = began + (index + 1) * interval - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    connection.close()


def watch_delivery(
    server: Any, watchers: int, processes: int, writes: int, interval: float, prefix: str
) -> dict[str, Any]:
    """Delivery latency to `watchers` streams spread over `processes` watcher processes."""
    shares = [
        watchers // processes + (1 if i < watchers % processes else 0) for i in range(processes)
    ]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--watchers-child", server.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
        if share
    ]
    try:
        for child, share in zip(children, [s for s in shares if s], strict=True):
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(f"{share} {writes}\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"watcher process failed:\n{child.communicate()[1][-3000:]}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        asyncio.run(_stamped_writes(server.url, writes, interval, prefix))
        latencies: list[float] = []
        for child in children:
            out, err = child.communicate(timeout=300)
            if child.returncode != 0:
                raise RuntimeError(f"watcher process failed:\n{err[-3000:]}")
            latencies += json.loads(out)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return {
        "watchers": watchers,
        "writes": writes,
        "deliveries": len(latencies),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
    }


def measure_size(
    args: argparse.Namespace, state: Path, number: int, size: int, last: bool
) -> dict[str, Any]:
    """A fresh server filled to `size` objects, then every measurement of one column."""
    from kubernetes import client, config

    from harness.reference.apiserver.testing import start_apiserver

    server = start_apiserver(
        state / f"server-{size}", crds=[CRD], extra_args=["--watch-window", "10000", PLAIN_HTTP]
    )
    assert server.token is not None
    os.environ[TOKEN_ENV] = server.token
    try:
        api_client = config.new_client_from_config(str(server.kubeconfig))
        custom = client.CustomObjectsApi(api_client)
        core = client.CoreV1Api(api_client)
        for namespace in (NAMESPACE, DELIVERY_NAMESPACE):
            core.create_namespace({"metadata": {"name": namespace}})
        seed = [f"s-c0-{index}" for index in range(100)]
        loadgen(server.url, {"prefix": "s", "steps": [{"op": "create", "count": 100}]})
        if size > 100:
            plan = {"prefix": "f", "steps": [{"op": "create", "count": size - 100}]}
            loadgen(server.url, plan, args.clients)
        phase: dict[str, Any] = {"stored_at_start": max(size, 100)}
        phase["lean"] = loadgen(
            server.url, {"prefix": "l", "steps": [{"op": "list", "key": "list"}]}
        )
        phase["official_list_ms"] = official_list_ms(custom)
        phase["official"] = official_client_phase(
            custom, server.pid, "o", 0, seed, args.official_ops
        )
        phase["lean"].update(lean_phase(server, seed, "b", 50_000, args.ops, args.clients))
        phase["stored_at_end"] = (
            phase["stored_at_start"] + 20 + 100 + args.official_ops + args.ops + 200
        )
        phase["rss_mb_at_end"] = rss_mb(server.pid or 0)
        if last:
            phase["delivery"] = [
                watch_delivery(
                    server,
                    count,
                    min(count, args.watcher_processes),
                    args.writes,
                    0.01,
                    f"w{count}",
                )
                for count in (1, args.watchers)
            ]
        return phase
    finally:
        server.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "sizes": args.sizes,
        "clients": args.clients,
        "connections_per_client": CONNECTIONS,
    }
    with tempfile.TemporaryDirectory(prefix="apiserver-bench-") as tmp:
        state = Path(tmp)
        results["startup"] = startup_seconds(state, args.startup_repeats)
        phases = [
            measure_size(args, state, number, size, number == len(args.sizes) - 1)
            for number, size in enumerate(args.sizes)
        ]
        results["phases"] = phases
        results["delivery"] = phases[-1].pop("delivery")
        results["rss_mb_at_end"] = phases[-1]["rss_mb_at_end"]
        results["stored_at_end"] = phases[-1]["stored_at_end"]
        results["echo"] = echo_baseline(args.ops, args.clients)
    return results


def echo_baseline(ops: int, clients: int) -> dict[str, Any]:
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
            clients,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def table_rows(results: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    phases = results["phases"]
    header = ["measure", *[f"@{p['stored_at_start']:,}" for p in phases]]
    rows: list[list[Any]] = []

    def add(label: str, pick: Any) -> None:
        rows.append([label, *[pick(p) for p in phases]])

    clients = results["clients"]
    for key, label in (
        ("creates", "creates/s"),
        ("merge_patches", "merge patches/s"),
        ("status_patches", "status patches/s"),
        ("gets", "gets/s"),
    ):
        add(f"(b) {label}, {clients} client processes", lambda p, k=key: p["lean"][f"{k}_per_s"])
    for key, label in (
        ("creates", "create"),
        ("merge_patches", "merge patch"),
        ("status_patches", "status patch"),
        ("gets", "get"),
    ):
        add(f"(b) server CPU ms/{label}", lambda p, k=key: p["lean"][f"{k}_server_cpu_ms"])
    add("(b) create+get p50 ms, 1 connection", lambda p: p["lean"]["create_get"]["p50_ms"])
    add("(b) create+get p95 ms, 1 connection", lambda p: p["lean"]["create_get"]["p95_ms"])
    add("(b) list of the namespace ms", lambda p: p["lean"]["list"]["ms"])
    for key, label in (
        ("creates", "creates/s"),
        ("merge_patches", "merge patches/s"),
        ("status_patches", "status patches/s"),
    ):
        add(f"(a) official client {label}", lambda p, k=key: p["official"][f"{k}_per_s"])
    add("(a) client CPU ms/create", lambda p: p["official"]["creates_client_cpu_ms"])
    add("(a) create+get p50 ms", lambda p: p["official"]["create_get_p50_ms"])
    add("(a) create+get p95 ms", lambda p: p["official"]["create_get_p95_ms"])
    add("(a) list via the client ms", lambda p: p["official_list_ms"])
    return header, rows


def print_results(results: dict[str, Any]) -> None:
    header, rows = table_rows(results)
    print_table("Embedded API server (stored objects at the start of each phase)", header, rows)
    echo = results["echo"]
    print(
        f"\ntransport ceiling (aiohttp echo, same {results['clients']} load generators): "
        f"GET {echo['gets_per_s']:,.0f}/s, POST {echo['posts_per_s']:,.0f}/s"
    )
    print_table(
        f"Watch delivery, {results['stored_at_end']:,} objects stored (write sent → line read)",
        ["watchers", "deliveries", "p50 ms", "p99 ms", "max ms"],
        [
            [d["watchers"], d["deliveries"], d["p50_ms"], d["p99_ms"], d["max_ms"]]
            for d in results["delivery"]
        ],
    )
    startup = results["startup"]
    print(
        f"\nstartup: spawn → READY {startup['ready_s']:.3f} s, "
        f"spawn → first /version answered {startup['first_version_s']:.3f} s"
    )
    print(f"RSS with {results['stored_at_end']:,} objects: {results['rss_mb_at_end']:.1f} MB")
    phases = results["phases"]
    worst = min(
        p["lean"][f"{k}_per_s"]
        for p in phases
        for k in ("creates", "merge_patches", "status_patches")
    )
    delivery = results["delivery"][-1]["p99_ms"]
    results["goals"] = {
        "min_write_ops_per_s": worst,
        "writes_met": worst >= 1500,
        "delivery_p99_ms": delivery,
        "delivery_met": delivery <= 20,
        "startup_s": startup["first_version_s"],
        "startup_met": startup["first_version_s"] <= 0.3,
    }
    goals = results["goals"]
    print(
        f"goals: >= 1500 writes/s at every size: {worst:,.0f} "
        f"({'met' if goals['writes_met'] else 'NOT met'}); delivery p99 <= 20 ms: "
        f"{delivery:.1f} ({'met' if goals['delivery_met'] else 'NOT met'}); startup <= 0.3 s: "
        f"{goals['startup_s']:.3f} ({'met' if goals['startup_met'] else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", "--json", type=Path, help="JSON file (default bench/results/…)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[100, 1_000, 10_000],
        help="store sizes to measure at, comma-separated (default 100,1000,10000)",
    )
    parser.add_argument("--ops", type=int, default=2000, help="operations per (b) measurement")
    parser.add_argument("--clients", type=int, default=3, help="load-generator processes for (b)")
    parser.add_argument("--official-ops", type=int, default=500, help="calls per (a) measurement")
    parser.add_argument("--startup-repeats", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=50, help="concurrent watch streams")
    parser.add_argument("--watcher-processes", type=int, default=2)
    parser.add_argument("--writes", type=int, default=300, help="paced writes (100/s) watched")
    parser.add_argument("--loadgen", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--watchers-child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        _loadgen_main(args.loadgen)
        return
    if args.watchers_child:
        _watchers_main(args.watchers_child)
        return
    if args.echo_server:
        echo_server_main()
        return
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    results = run(args)
    print_results(results)
    write_json("apiserver_throughput", args.out, results)


if __name__ == "__main__":
    main()
