"""Suite concurrency: a run's wall time against N, one test at a time versus all in flight at once.

    python bench/suite_concurrency.py [--sizes 1,5,10,25] [--serial-up-to 25,5]
        [--boot-delay 5] [--provision-delay 5] [--overhead-tests 25] [--out FILE]

N tests made of a mix of the suite's own tests (`--mix`, default five: restart now, a future-
dated restart, an ignored request with its quiet window, a delete during a restart, a refused
VMI delete), each repeated as often as it takes (bench/replicas.py). Each N runs twice in one
`pytest` process per run: `--concurrency 1` (serial) and the default mode (every test in flight,
one stack). Two delay profiles:

- default: the embedded stack the plugin starts, with its default delays (what
  `./run-local.sh` runs);
- real-like: a `harness up --boot-delay B --provision-delay P` started first, the runs pointed at
  it with `--target cluster` (`--restart-timeout 40`, so a future-dated request is 20 s ahead;
  `--concurrency 32`, the embedded default, where a cluster's is 16).

Per run: wall time, the longest test's time (junit: set-up + call + tear-down), the ratio of
the two, and the peak memory of everything the run needs (the sum of RSS over the pytest process
tree and, real-like, the stack's: shared pages count once per process, so it is an upper
bound), sampled every 0.2 s. `--serial-up-to` caps N for the serial runs per profile (a serial
real-like run of 25 costs many minutes).

Overhead per restart (`--overhead-tests`): the restart-now test alone, then that many copies of
it in flight at once, on the default stack, each run after the baseline test (which takes the
stack's start-up in its set-up, as bench/suite_walltime.py does). For each test: the harness's
time (set-up + call) over the system under test's own time from the API server's request log
(the fulfillment API's create of the instance to the SUT's last write the harness had seen when
its wait returned), as bench/suite_walltime.py measures one. Under concurrency the create is the
last fulfillment create before the harness's Create call returned: another test's create in
between makes the SUT's time shorter, so the overhead is overstated, never understated.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from benchlib import REPO, percentile, print_table, write_json
from suite_walltime import RESTART_TEST, phase_times, seen_done_at

BENCH = Path(__file__).resolve().parent
MIX = (
    RESTART_TEST,
    "suites/test_restart_future.py::"
    "test_future_request_restarts_now_and_completes_only_after_that_moment",
    "suites/test_restart_ignored.py::test_older_request_after_a_restart_is_ignored",
    "suites/test_deletion.py::test_delete_during_a_restart_removes_everything",
    "suites/test_restart_refused.py::test_refused_vmi_deletion_sets_restart_failed_then_recovers",
)
# The embedded stack's timing and in-flight limit, with a real cluster's delays; under
# `--target cluster` the defaults would be a cluster's (16 in flight: N = 25 in two waves).
REAL_LIKE_TIMING = (
    *("--restart-timeout", "40", "--provision-timeout", "120", "--quiet-window", "5"),
    *("--concurrency", "32"),
)
BASELINE_TEST = "suites/test_baseline.py::test_instance_created_runs_with_a_running_vmi"
FULFILLMENT_USER = "fulfillment-controller"
SUT_USERS = ("controller-manager", "kubevirt-controller")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def tree_rss_mb(roots: list[int]) -> float:
    total, seen, todo = 0, set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(pid)
    return total / 1024


class PeakMemory:
    """Samples the RSS of process trees in a thread until stopped."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.roots))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def junit_times(path: Path) -> tuple[list[float], int, int]:
    """Each test's time, and how many failed or were skipped."""
    times, failed, skipped = [], 0, 0
    for case in ET.parse(path).getroot().iter("testcase"):
        times.append(float(case.get("time", "0")))
        failed += case.find("failure") is not None or case.find("error") is not None
        skipped += case.find("skipped") is not None
    return times, failed, skipped


def run_suite(
    tests: int,
    mix: list[str],
    mode: str,
    scratch: Path,
    extra: list[str],
    env: dict[str, str],
    also_measure: list[int],
    timeout: float,
) -> dict[str, Any]:
    results = scratch / f"results-{mode}-{tests}-{time.monotonic_ns()}"
    command = [
        sys.executable,
        *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "replicas"),
        *sorted({nodeid.split("::")[0] for nodeid in mix}),
        *("--results-dir", str(results), "--junitxml", str(results / "junit.xml")),
        *extra,
        *(["--concurrency", "1"] if mode == "serial" else []),
    ]
    run_env = {
        **env,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(BENCH)]),
        "BENCH_MIX": ",".join(mix),
        "BENCH_TESTS": str(tests),
    }
    before = load()
    began = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakMemory([process.pid, *also_measure]) as memory:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=120)
    wall = time.perf_counter() - began
    junit = results / "junit.xml"
    if not junit.is_file():
        raise SystemExit(f"{mode} N={tests}: no junit.xml (exit {process.returncode}):\n{output}")
    times, failed, skipped = junit_times(junit)
    longest = max(times) if times else 0.0
    record = {
        "mode": mode,
        "tests": tests,
        "wall_s": wall,
        "longest_test_s": longest,
        "wall_over_longest": wall / longest if longest else None,
        "sum_of_tests_s": sum(times),
        "peak_rss_mb": memory.peak_mb,
        "failed": failed,
        "skipped": skipped,
        "exit_code": process.returncode,
        "load_before_after": (before, load()),
    }
    print(
        f"  {mode:10} N={tests:3}: {wall:6.1f} s wall, longest test {longest:5.1f} s, "
        f"peak {memory.peak_mb:5.0f} MB, failed {failed}, load {before}/{load()}",
        flush=True,
    )
    if failed or process.returncode not in (0,):
        (scratch / f"failed-{mode}-{tests}.txt").write_text(output)
        print(output[-3000:], flush=True)
    return record


def start_real_like(state: Path, boot: float, provision: float) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "harness", "up", "--state-dir", str(state)),
            *("--boot-delay", str(boot), "--provision-delay", str(provision)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.terminate()
        raise SystemExit(f"harness up did not start: {line!r}")
    env = dict(os.environ)
    for entry in (state / "env").read_text().splitlines():
        name, _, value = entry.partition("=")
        env[name] = value
    env["HARNESS_TARGET"] = "cluster"
    return process, env


def clean_env() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("HARNESS_") and name != "KUBECONFIG"
    }


def _log_time(text: str) -> float:
    from calendar import timegm

    whole, _, fraction = text.rstrip("Z").partition(".")
    return timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(fraction or 0) / 1000


def sut_seconds(writes: list[dict[str, Any]], timeline: Path) -> float:
    """The SUT's own time for the test whose timeline this is (see the module's docstring)."""
    entries = [json.loads(line) for line in timeline.read_text().splitlines()]
    create = next(e for e in entries if e.get("kind") == "ApiCall" and e["method"] == "Create")
    name = next(
        e["name"] for e in entries if e.get("kind") not in (None, "ApiCall") and "name" in e
    )
    create_returned = create["time"] + create.get("duration", 0.0)
    created = max(
        _log_time(e["time"])
        for e in writes
        if e["verb"] == "create"
        and e["path"].endswith("/computeinstances")
        and FULFILLMENT_USER in e["user"]
        and _log_time(e["time"]) <= create_returned + 0.001
    )
    seen_at = seen_done_at(timeline)
    done = max(
        _log_time(e["time"])
        for e in writes
        if any(user in e["user"] for user in SUT_USERS)
        and f"/{name}" in e["path"]
        and _log_time(e["time"]) <= seen_at + 0.001
    )
    return done - created


def overhead(tests: int, scratch: Path, timeout: float) -> dict[str, Any]:
    state = scratch / f"overhead-{tests}"
    results = state / "results"
    command = [
        sys.executable,
        *(
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "replicas",
            "suites/test_restart.py",
        ),
        *("--state-dir", str(state), "--results-dir", str(results)),
        *("--durations=0", "--durations-min=0", "-vv"),
    ]
    env = {
        **clean_env(),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(BENCH)]),
        "BENCH_MIX": RESTART_TEST,
        "BENCH_TESTS": str(tests),
        "BENCH_FIRST": BASELINE_TEST,
    }
    completed = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"overhead run of {tests} failed:\n{completed.stdout[-3000:]}")
    log = state / "logs" / "apiserver-requests.jsonl"
    writes = [
        e
        for e in map(json.loads, log.read_text().splitlines())
        if e["verb"] in {"create", "patch", "update", "delete"}
    ]
    fractions = []
    for line in completed.stdout.splitlines():
        match = re.match(r"^\s*[\d.]+s call\s+(\S+)", line)
        if not match:
            continue
        nodeid = match.group(1)
        phases = phase_times(completed.stdout, nodeid)
        replica = nodeid.rsplit("[", 1)[1].rstrip("]")
        timeline = next((results / "timeline").glob(f"*restart_now*{replica}*.jsonl"))
        sut = sut_seconds(writes, timeline)
        fractions.append((phases["setup"] + phases["call"] - sut) / sut)
    return {
        "tests": tests,
        "overhead_median": statistics.median(fractions),
        "overhead_p90": percentile(fractions, 0.9),
        "overhead_fractions": fractions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10,25")
    parser.add_argument(
        "--serial-up-to",
        default="25,5",
        help="largest N run serially: default profile, real-like profile",
    )
    parser.add_argument("--mix", nargs="+", default=list(MIX))
    parser.add_argument("--boot-delay", type=float, default=5.0)
    parser.add_argument("--provision-delay", type=float, default=5.0)
    parser.add_argument("--profiles", default="default,real-like")
    parser.add_argument("--overhead-tests", type=int, default=25, help="0: skip the overhead")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/…)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    serial_caps = dict(
        zip(("default", "real-like"), (int(n) for n in args.serial_up_to.split(",")), strict=True)
    )
    results: dict[str, Any] = {"runs": [], "mix": args.mix}
    with tempfile.TemporaryDirectory(prefix="suite-concurrency-") as tmp:
        scratch = Path(tmp)
        for profile in args.profiles.split(","):
            print(f"{profile} delays:", flush=True)
            stack = None
            env, extra, also = clean_env(), [], []
            if profile == "real-like":
                stack, env = start_real_like(
                    scratch / "stack", args.boot_delay, args.provision_delay
                )
                extra, also = list(REAL_LIKE_TIMING), [stack.pid]
            try:
                for tests in sizes:
                    modes = ["concurrent"] + (["serial"] if tests <= serial_caps[profile] else [])
                    for mode in modes:
                        record = run_suite(
                            tests, args.mix, mode, scratch, extra, env, also, args.timeout
                        )
                        results["runs"].append({"profile": profile, **record})
            finally:
                if stack is not None:
                    stack.send_signal(signal.SIGTERM)
                    stack.wait(timeout=60)
        if args.overhead_tests:
            alone = overhead(1, scratch, args.timeout)
            loaded = overhead(args.overhead_tests, scratch, args.timeout)
            results["overhead"] = {"alone": alone, "in_flight": loaded}
            print(
                f"overhead per restart: alone {alone['overhead_median']:.1%}, "
                f"{args.overhead_tests} in flight median {loaded['overhead_median']:.1%} "
                f"(p90 {loaded['overhead_p90']:.1%})",
                flush=True,
            )
    rows = []
    for record in results["runs"]:
        rows.append(
            (
                record["profile"],
                record["tests"],
                record["mode"],
                record["wall_s"],
                record["longest_test_s"],
                record["wall_over_longest"],
                record["peak_rss_mb"],
                record["failed"],
                "/".join(record["load_before_after"]),
            )
        )
    print_table(
        "Suite wall time against N",
        (
            "delays",
            "N",
            "mode",
            "wall s",
            "longest test s",
            "wall/longest",
            "peak MB",
            "failed",
            "load",
        ),
        rows,
    )
    write_json(
        "suite_concurrency",
        args.out,
        {"parameters": vars(args) | {"out": str(args.out)}, **results},
    )


if __name__ == "__main__":
    main()
