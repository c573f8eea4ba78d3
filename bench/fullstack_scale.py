"""Full-stack scale: N ComputeInstances restarted at once through the fulfillment API.

    python bench/fullstack_scale.py [--sizes 1,10,50,200] [--boot-delay 0.05] [--out FILE]

For each N, a fresh embedded stack (API server, reference controller, simulated KubeVirt,
reference fulfillment API; harness.reference.stack with small delays) and the harness's own
clients: N instances are created through the fulfillment API (gRPC, TLS, user token) and
awaited Running; then N restarts are requested at once (`restart_requested_at` = the API
server's current second, sent through the API by a pool of threads), and the clock runs until
every CR's `status.lastRestartedAt` equals its request, as seen by the harness's watch.

Reported: time from the first request to the last completion, per-instance completion p50/p99,
and the ratio to N = 1 measured in the same run (the baseline). A request dated "now" can only
complete once a VMI created in a later second exists (contract §7.4), so every restart carries
up to one second of waiting for the next second boundary, whatever N is.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchlib import REPO, percentile, print_table, write_json

sys.path.insert(0, str(REPO))


def start_profilers(stack: Any, directory: Path | None, size: int) -> list[Any]:
    """`py-spy record` on every component for the restart phase (collapsed stacks)."""
    if directory is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    profilers = []
    for component in stack.components:
        out = directory / f"n{size}-{component.name}.txt"
        py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        command = [py_spy, "record", "--pid", str(component.pid), "--format", "raw"]
        command += ["--rate", "200", "--nonblocking", "-o", str(out)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        profilers.append((component.name, out, process))
    time.sleep(0.5)  # let py-spy attach before the first request
    return profilers


def stop_profilers(profilers: list[Any]) -> dict[str, Any]:
    """SIGINT makes py-spy write its file; then the busiest leaf frames of each component."""
    summary: dict[str, Any] = {}
    for name, out, process in profilers:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        summary[name] = top_frames(out) if out.exists() else {"error": "no profile written"}
    return summary


def top_frames(path: Path, count: int = 8) -> dict[str, Any]:
    """Samples per leaf frame (file:function), idle waits excluded, from py-spy's raw output."""
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.rsplit(";", 1)[-1]
        leaves[re.sub(r" \(.*/", " (", leaf)] += int(samples)
        total += int(samples)
    return {
        "samples": total,
        "file": str(path),
        "top": [(frame, round(n / total, 3)) for frame, n in leaves.most_common(count)],
    }


def measure(size: int, args: argparse.Namespace, state: Path) -> dict[str, Any]:
    from harness.clients.fulfillment_api import FulfillmentClient, InstanceSpec
    from harness.clients.kubernetes_api import KubeClient
    from harness.clients.resources import instance_resource
    from harness.config import load_settings
    from harness.reference.stack import EmbeddedStack, StackOptions
    from harness.testkit.timeline import Timeline
    from harness.testkit.watchers import ResourceWatcher

    options = StackOptions(
        state_dir=state,
        boot_delay=args.boot_delay,
        shutdown_delay=args.shutdown_delay,
        provision_delay=args.provision_delay,
    )
    stack = EmbeddedStack(options)
    began = time.perf_counter()
    env = stack.start()
    startup = time.perf_counter() - began
    settings = load_settings({}, {}).connected_to(env)
    profile = settings.profile
    kube = KubeClient.from_kubeconfig(settings.kubeconfig)
    api = FulfillmentClient(settings)
    resource = instance_resource(profile)
    timeline = Timeline()
    watcher = ResourceWatcher(kube, resource, settings.namespace, timeline).start()
    pool = ThreadPoolExecutor(max_workers=args.threads)
    try:
        spec = InstanceSpec()
        created = time.perf_counter()
        ids = [item.id for item in pool.map(lambda _: api.create(spec), range(size))]
        wanted = set(ids)
        label = profile.uuid_label

        def by_id() -> dict[str, dict[str, Any]]:
            latest: dict[str, dict[str, Any]] = {}
            for observation in timeline.observations(resource.kind):
                uid = observation.object.get("metadata", {}).get("labels", {}).get(label)
                if uid in wanted:
                    latest[uid] = observation.object
            return latest

        def all_running() -> bool:
            objects = by_id()
            return len(objects) == size and all(
                (o.get("status") or {}).get("phase") == profile.phases.running
                for o in objects.values()
            )

        if not timeline.wait(all_running, args.timeout):
            raise SystemExit(f"N={size}: instances not all Running within {args.timeout:.0f} s")
        provisioned = time.perf_counter() - created
        at = kube.server_now()
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        profilers = start_profilers(stack, args.py_spy, size)
        first_request = time.perf_counter()
        first_request_wall = time.time()
        list(pool.map(lambda i: api.request_restart(i, at, spec.template), ids))
        requests_sent = time.perf_counter() - first_request

        def all_restarted() -> bool:
            objects = by_id()
            return all(
                (objects.get(i, {}).get("status") or {}).get("lastRestartedAt") == stamp
                for i in ids
            )

        if not timeline.wait(all_restarted, args.timeout):
            done = sum(
                (o.get("status") or {}).get("lastRestartedAt") == stamp for o in by_id().values()
            )
            raise SystemExit(f"N={size}: {done}/{size} restarts completed in {args.timeout:.0f} s")
        total = time.perf_counter() - first_request
        profiles = stop_profilers(profilers)
        completions: dict[str, float] = {}
        for observation in timeline.observations(resource.kind):
            obj = observation.object
            uid = obj.get("metadata", {}).get("labels", {}).get(label)
            if (
                uid in wanted
                and uid not in completions
                and (obj.get("status") or {}).get("lastRestartedAt") == stamp
            ):
                completions[uid] = observation.wall_time - first_request_wall
        per_instance = list(completions.values())
        return {
            "instances": size,
            "stack_start_s": startup,
            "create_to_all_running_s": provisioned,
            "requests_sent_s": requests_sent,
            "all_restarted_s": total,
            "completion_p50_s": percentile(per_instance, 0.5),
            "completion_p99_s": percentile(per_instance, 0.99),
            "profiles": profiles,
        }
    finally:
        pool.shutdown(wait=True)
        watcher.stop()
        api.close()
        kube.close()
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 10, 50, 200],
        help="instance counts; the first is the baseline (default 1,10,50,200)",
    )
    parser.add_argument("--boot-delay", type=float, default=0.05)
    parser.add_argument("--shutdown-delay", type=float, default=0.05)
    parser.add_argument("--provision-delay", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=16, help="API calls in flight at once")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/…)")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile every component with py-spy during the restarts; files go to DIR",
    )
    args = parser.parse_args()
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes: positive instance counts, comma-separated")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fullstack-bench-") as tmp:
        results = [measure(size, args, Path(tmp) / f"n{size}") for size in args.sizes]
    baseline = results[0]["all_restarted_s"]
    for result in results:
        result["ratio_to_baseline"] = result["all_restarted_s"] / baseline
        rows.append(
            (
                result["instances"],
                result["create_to_all_running_s"],
                result["requests_sent_s"],
                result["all_restarted_s"],
                result["completion_p50_s"],
                result["completion_p99_s"],
                result["ratio_to_baseline"],
                result["stack_start_s"],
            )
        )
    print_table(
        "Concurrent restarts through the fulfillment API (seconds)",
        (
            "N",
            "create→Running",
            "requests sent",
            "all restarted",
            "p50 done",
            "p99 done",
            f"× N={args.sizes[0]}",
            "stack start",
        ),
        rows,
    )
    for result in results:
        for name, profile in (result.get("profiles") or {}).items():
            top = ", ".join(f"{frame} {share:.0%}" for frame, share in profile.get("top", [])[:5])
            print(f"N={result['instances']} {name}: {profile.get('samples', 0)} samples; {top}")
    largest = results[-1]
    goal = {"instances": 200, "seconds": 20.0}
    if largest["instances"] >= 200:
        goal["met"] = largest["all_restarted_s"] <= 20.0
        print(
            f"\ngoal: {largest['instances']} restarted in <= 20 s: "
            f"{largest['all_restarted_s']:.1f} s ({'met' if goal['met'] else 'NOT met'})"
        )
    params = vars(args) | {"out": str(args.out) if args.out else None, "py_spy": str(args.py_spy)}
    write_json(
        "fullstack_scale", args.out, {"parameters": params, "results": results, "goal": goal}
    )


if __name__ == "__main__":
    main()
