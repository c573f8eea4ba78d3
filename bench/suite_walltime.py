"""Suite wall time: the embedded suite serial and on 2 workers; harness overhead of one restart.

    python bench/suite_walltime.py [--workers 2] [--overhead-runs 3] [--out FILE]

1. `pytest suites` serial, then `pytest suites -n WORKERS` (each a fresh process with its own
   embedded stack per worker): wall time of each and the speed-up (serial is the baseline).
2. Harness overhead over the system under test's own time, for one restart:
   `pytest suites/test_baseline.py <the restart-now test> --state-dir D --durations=0`, the
   baseline test first so the stack start-up lands in its setup, not the restart test's.
   Harness time: the restart test's setup + call (to its verdict; the cleanup in teardown is
   shown apart). SUT time, from the API server's request log: from the fulfillment API creating
   the test's ComputeInstance to the SUT's last write (controller or KubeVirt sim, on its CR,
   VM or VMI) that the harness had seen when its wait returned — read from the test's timeline
   (`--results-dir`): its last watched event before it read the instance back through the API.
   Also shown: the SUT's restart alone (restart request → that write) and how long after that
   write the harness saw it.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from calendar import timegm
from pathlib import Path
from typing import Any

from benchlib import REPO, print_table, write_json

RESTART_TEST = "suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request"
FULFILLMENT_USER = "fulfillment-controller"
last_cpu_seconds = 0.0  # CPU of the last pytest run and everything it started (reaped children)
last_load: tuple[str, str] = ("", "")
SUT_USERS = ("controller-manager", "kubevirt-controller")


def run_pytest(args: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    global last_cpu_seconds, last_load  # noqa: PLW0603
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = Path("/proc/loadavg").read_text().split()[0]
    began = time.perf_counter()
    completed = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last_cpu_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    last_load = (load, Path("/proc/loadavg").read_text().split()[0])
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.splitlines()[-30:])
        raise SystemExit(f"pytest {' '.join(args)} failed (exit {completed.returncode}):\n{tail}")
    return elapsed, completed


def last_line(completed: subprocess.CompletedProcess[str]) -> str:
    return (completed.stdout.strip().splitlines() or [""])[-1]


def _log_time(text: str) -> float:
    whole, _, fraction = text.rstrip("Z").partition(".")
    return timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(fraction or 0) / 1000


def seen_done_at(timeline: Path) -> float:
    """When the harness saw the last change it waited for: its last watched event before it
    read the instance back through the API after the restart (the test's final `Get`)."""
    entries = [json.loads(line) for line in timeline.read_text().splitlines()]
    calls = [e for e in entries if e.get("kind") == "ApiCall"]
    final = next(
        (e for e in reversed(calls) if e.get("method") == "Get"),
        next((e for e in calls if e.get("method") == "Delete"), calls[-1]),
    )
    return max(
        e["time"] for e in entries if e.get("kind") != "ApiCall" and e["time"] <= final["time"]
    )


def sut_times(request_log: Path, seen_at: float) -> dict[str, float]:
    """From the fulfillment API creating the CR to the SUT's last write (controller or KubeVirt
    sim, on the instance's CR, VM or VMI) that the harness had seen when its wait returned."""
    entries = [json.loads(line) for line in request_log.read_text().splitlines()]
    writes = [e for e in entries if e["verb"] in {"create", "patch", "update", "delete"}]
    restart = next(
        e
        for e in writes
        if "/computeinstances/" in e["path"]
        and e["verb"] == "patch"
        and FULFILLMENT_USER in e["user"]
        and not e["path"].endswith("status")
    )
    name = restart["path"].rsplit("/", 1)[1]
    index = writes.index(restart)
    created = next(
        e
        for e in reversed(writes[:index])
        if e["verb"] == "create"
        and "/computeinstances" in e["path"]
        and FULFILLMENT_USER in e["user"]
    )
    # The request log's times are truncated to the millisecond.
    end = max(
        _log_time(e["time"])
        for e in writes[index:]
        if any(user in e["user"] for user in SUT_USERS)
        and (f"/{name}" in e["path"] or e["path"].endswith("/virtualmachineinstances"))
        and _log_time(e["time"]) <= seen_at + 0.001
    )
    return {
        "sut_create_to_done_s": end - _log_time(created["time"]),
        "sut_restart_s": end - _log_time(restart["time"]),
        "detected_after_s": seen_at - end,
    }


DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")


def phase_times(output: str, test: str) -> dict[str, float]:
    times = {"setup": 0.0, "call": 0.0, "teardown": 0.0}
    for line in output.splitlines():
        match = DURATION.match(line)
        if match and match.group(3) == test:
            times[match.group(2)] = float(match.group(1))
    return times


def overhead_run(scratch: Path, index: int, timeout: float) -> dict[str, Any]:
    state = scratch / f"overhead-{index}"
    _, completed = run_pytest(
        [
            "suites/test_baseline.py",
            RESTART_TEST,
            "--state-dir",
            str(state),
            "--results-dir",
            str(state / "results"),
            "--durations=0",
            "--durations-min=0",
            "-vv",
        ],
        timeout,
    )
    phases = phase_times(completed.stdout, RESTART_TEST)
    timeline = next((state / "results" / "timeline").glob("*restart_now*.jsonl"))
    sut = sut_times(state / "logs" / "apiserver-requests.jsonl", seen_done_at(timeline))
    harness = phases["setup"] + phases["call"]
    return {
        "harness_setup_s": phases["setup"],
        "harness_call_s": phases["call"],
        "harness_teardown_s": phases["teardown"],
        "harness_s": harness,
        **sut,
        "overhead_fraction": (harness - sut["sut_create_to_done_s"]) / sut["sut_create_to_done_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--overhead-runs", type=int, default=3)
    parser.add_argument("--skip-suite", action="store_true", help="only the overhead part")
    parser.add_argument("--suite", default="suites", help="what `pytest` runs (default suites)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/…)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if not args.skip_suite:
        serial, completed = run_pytest([args.suite], args.timeout)
        serial_cpu, serial_load = last_cpu_seconds, last_load
        print(f"serial: {serial:.1f} s ({last_line(completed)})", flush=True)
        parallel, completed = run_pytest([args.suite, "-n", str(args.workers)], args.timeout)
        parallel_cpu, parallel_load = last_cpu_seconds, last_load
        print(f"-n {args.workers}: {parallel:.1f} s ({last_line(completed)})", flush=True)
        results["suite"] = {
            "serial_s": serial,
            "parallel_s": parallel,
            "serial_cpu_s": serial_cpu,
            "parallel_cpu_s": parallel_cpu,
            "serial_load_before_after": serial_load,
            "parallel_load_before_after": parallel_load,
            "workers": args.workers,
            "speedup": serial / parallel,
            "goal_serial_met": serial <= 60,
            "goal_speedup_met": serial / parallel >= 1.6,
        }
        print_table(
            "Embedded suite wall time",
            ("run", "seconds", "speed-up", "CPU s (all processes)", "load before/after"),
            [
                ("serial", serial, 1.0, serial_cpu, "/".join(serial_load)),
                (
                    f"-n {args.workers}",
                    parallel,
                    serial / parallel,
                    parallel_cpu,
                    "/".join(parallel_load),
                ),
            ],
        )
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as tmp:
        runs = [overhead_run(Path(tmp), i, args.timeout) for i in range(args.overhead_runs)]
    results["overhead_runs"] = runs
    keys = (
        "harness_s",
        "harness_setup_s",
        "harness_call_s",
        "harness_teardown_s",
        "sut_create_to_done_s",
        "sut_restart_s",
        "detected_after_s",
        "overhead_fraction",
    )
    median = {key: statistics.median(run[key] for run in runs) for key in keys}
    results["overhead_median"] = median
    results["goal_overhead_met"] = median["overhead_fraction"] <= 0.10
    print_table(
        f"One restart test: harness vs the SUT's own time (median of {len(runs)})",
        ("measure", "seconds"),
        [
            ("test setup + call (harness)", median["harness_s"]),
            ("  setup / call", f"{median['harness_setup_s']:.3f} / {median['harness_call_s']:.3f}"),
            ("  teardown (cleanup, not counted)", median["harness_teardown_s"]),
            ("SUT: CR created → its last awaited write", median["sut_create_to_done_s"]),
            ("SUT: restart request → that write", median["sut_restart_s"]),
            ("  harness saw it after (ms)", median["detected_after_s"] * 1000),
            ("harness overhead over the SUT", f"{median['overhead_fraction'] * 100:.1f} %"),
        ],
    )
    write_json(
        "suite_walltime",
        args.out,
        {"parameters": vars(args) | {"out": str(args.out) if args.out else None}, **results},
    )


if __name__ == "__main__":
    main()
