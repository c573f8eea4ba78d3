"""Soak: the restart suites run K times in a row, then K' times with the other core kept busy.

    python bench/soak.py [--runs 200] [--busy-runs 50] [--workers 1] [--budget-minutes M]
        [--out FILE]

Each run is a fresh `pytest suites/test_restart*.py` (its own embedded stack, started and
stopped by the plugin, so stack start-up and shutdown are soaked too). During the busy phase a
busy-loop process (one per `--busy-cores`, default 1: "the other core" of a 2-core machine)
spins for the whole phase; it is stopped by its PID afterwards. Zero failures are expected.

A failed run keeps its pytest output and its results directory (`--results-dir`: timeline,
diagnostics, summary) under `--flake-dir` (default bench/results/soak-flakes/); a passing run's
results directory is removed. The quiet phase is the same-run baseline of the busy phase
(duration ratio).

The JSON is rewritten after every run, so a soak stopped early (Ctrl-C, SIGTERM, or
`--budget-minutes`, which shares the time between the phases in proportion to their runs and
stops starting runs once a phase's share is spent) keeps everything it did, and says so.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, RESULTS, percentile, print_table, write_json

SUITES = sorted(str(path.relative_to(REPO)) for path in (REPO / "suites").glob("test_restart*.py"))


def one_run(index: int, phase: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    results_dir = scratch / f"{phase}-{index}"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *args.tests,
        "-q",
        "-p",
        "no:cacheprovider",
        "--results-dir",
        str(results_dir),
        *(["-n", str(args.workers)] if args.workers > 1 else []),
    ]
    began = time.perf_counter()
    completed = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=args.run_timeout, check=False
    )
    duration = time.perf_counter() - began
    summary = (completed.stdout.strip().splitlines() or [""])[-1]
    record: dict[str, Any] = {
        "phase": phase,
        "run": index,
        "returncode": completed.returncode,
        "seconds": round(duration, 2),
        "tests": sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|error)", summary)),
        "summary": summary,
    }
    if completed.returncode != 0:
        keep = args.flake_dir / f"{phase}-{index}"
        keep.mkdir(parents=True, exist_ok=True)
        (keep / "pytest-output.txt").write_text(completed.stdout + "\n" + completed.stderr)
        if results_dir.exists():
            shutil.copytree(results_dir, keep / "results", dirs_exist_ok=True)
        record["kept"] = str(keep)
        print(f"  {phase} run {index}: FAILED ({summary}); kept in {keep}", flush=True)
    else:
        print(f"  {phase} run {index}: {summary} ({duration:.1f} s)", flush=True)
    shutil.rmtree(results_dir, ignore_errors=True)
    return record


class Stopped(Exception):
    """SIGTERM during the soak: stop starting runs, keep what was done."""


def phase(
    name: str,
    runs: int,
    args: argparse.Namespace,
    scratch: Path,
    records: list[dict[str, Any]],
    budget_s: float | None,
) -> str:
    """Appends each run's record (and rewrites the JSON); returns why the phase ended."""
    spinners: list[subprocess.Popen[bytes]] = []
    if name == "busy" and runs:
        spinners = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy_cores)
        ]
    began = time.monotonic()
    try:
        for index in range(1, runs + 1):
            if budget_s is not None and time.monotonic() - began >= budget_s:
                return f"time budget of {budget_s / 60:.0f} min spent after {index - 1} runs"
            records.append(one_run(index, name, args, scratch))
            report(args, records, status="running")
        return "complete"
    except (KeyboardInterrupt, Stopped):
        return "stopped by a signal"
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.wait(timeout=10)


def summarize(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    rows = []
    summary: dict[str, Any] = {}
    for name in ("quiet", "busy"):
        mine = [r for r in records if r["phase"] == name]
        if not mine:
            continue
        seconds = [r["seconds"] for r in mine]
        failed = [r for r in mine if r["returncode"] != 0]
        tests = sum(r.get("tests", 0) for r in mine)
        summary[name] = {
            "runs": len(mine),
            "tests": tests,
            "failed": len(failed),
            "median_s": statistics.median(seconds),
            "p99_s": percentile(seconds, 0.99),
            "max_s": max(seconds),
            "failures": [r.get("kept") for r in failed],
        }
        rows.append((name, len(mine), tests, len(failed), summary[name]["median_s"], max(seconds)))
    if "quiet" in summary and "busy" in summary:
        summary["busy_over_quiet_median"] = (
            summary["busy"]["median_s"] / summary["quiet"]["median_s"]
        )
    return summary, rows


def report(args: argparse.Namespace, records: list[dict[str, Any]], **extra: Any) -> Path:
    summary, _ = summarize(records)
    params = vars(args) | {
        "out": str(args.out) if args.out else None,
        "flake_dir": str(args.flake_dir),
    }
    document = {"parameters": params, "summary": summary, **extra, "runs": records}
    return write_json("soak", args.out, document, quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs on a quiet machine")
    parser.add_argument("--busy-runs", type=int, default=50, help="runs with a busy loop going")
    parser.add_argument("--busy-cores", type=int, default=1, help="busy-loop processes")
    parser.add_argument("--workers", type=int, default=1, help="pytest -n (1: serial)")
    parser.add_argument(
        "--tests",
        nargs="+",
        default=SUITES,
        help="what each run runs (default: the restart suites)",
    )
    parser.add_argument("--run-timeout", type=float, default=900.0)
    parser.add_argument(
        "--budget-minutes",
        type=float,
        help="stop starting runs once this much time is spent (shared by the phases)",
    )
    parser.add_argument("--flake-dir", type=Path, default=RESULTS / "soak-flakes")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/…)")
    args = parser.parse_args()
    if args.runs < 0 or args.busy_runs < 0:
        parser.error("--runs and --busy-runs must not be negative")
    print(f"soak: {args.runs} quiet + {args.busy_runs} busy runs of {' '.join(args.tests)}")
    budgets: dict[str, float | None] = {"quiet": None, "busy": None}
    if args.budget_minutes:
        total = max(1, args.runs + args.busy_runs)
        for name, runs in (("quiet", args.runs), ("busy", args.busy_runs)):
            budgets[name] = args.budget_minutes * 60 * runs / total

    def stop(signum: int, frame: Any) -> None:
        raise Stopped

    signal.signal(signal.SIGTERM, stop)
    records: list[dict[str, Any]] = []
    ended: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        for name, runs in (("quiet", args.runs), ("busy", args.busy_runs)):
            ended[name] = phase(name, runs, args, Path(tmp), records, budgets[name])
            if ended[name] == "stopped by a signal":
                break
    _, rows = summarize(records)
    print_table(
        "Soak of the restart suites",
        ("phase", "runs", "tests", "failed", "median s", "max s"),
        rows,
    )
    for name, why in ended.items():
        if why != "complete":
            print(f"{name} phase ended early: {why}")
    path = report(args, records, status="finished", phases_ended=ended)
    print(f"\nwrote {path}")
    sys.exit(1 if any(r["returncode"] != 0 for r in records) else 0)


if __name__ == "__main__":
    main()
