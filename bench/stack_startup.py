"""Embedded stack start-up and shutdown: forked components against spawned ones (the baseline).

    python bench/stack_startup.py [--repeats 5] [--out FILE]

Each repeat starts and stops the stack both ways, alternating, so that both see the same load:
`fork_components=True` (the stack imports the official client once while the API server
starts, then forks the controller, KubeVirt sim and fulfillment API from that warm process)
and `fork_components=False` (a fresh interpreter per component). Shutdown: the stack's stop
(the API server's clients all at once, then the server) against stopping each component in
turn, measured on the forked stacks. Also `python -m harness up`
as the pytest plugin launches it (spawn to the env file, SIGTERM to exit).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, print_table, write_json

sys.path.insert(0, str(REPO))


def once(state: Path, fork: bool, stop_in_turn: bool) -> tuple[float, float]:
    from harness.reference.stack import EmbeddedStack, StackOptions

    stack = EmbeddedStack(StackOptions(state_dir=state, fork_components=fork))
    began = time.perf_counter()
    try:
        stack.start()
    finally:
        started = time.perf_counter() - began
        began = time.perf_counter()
        if stop_in_turn:
            for component in reversed(stack.components):
                component.stop()
        else:
            stack.stop()
        stopped = time.perf_counter() - began
    return started, stopped


def background(state: Path) -> tuple[float, float]:
    from harness.reference.stack import StackOptions, launch

    stack = launch(StackOptions(state_dir=state))
    began = time.perf_counter()
    try:
        stack.start()
    finally:
        started = time.perf_counter() - began
        began = time.perf_counter()
        stack.stop()
        stopped = time.perf_counter() - began
    return started, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/…)")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {
        key: []
        for key in (
            "fork_start",
            "spawn_start",
            "parallel_stop",
            "in_turn_stop",
            "harness_up_start",
            "harness_up_stop",
        )
    }
    with tempfile.TemporaryDirectory(prefix="stack-bench-") as tmp:
        for repeat in range(args.repeats):
            root = Path(tmp) / str(repeat)
            start, stop = once(root / "fork", fork=True, stop_in_turn=repeat % 2 == 1)
            samples["fork_start"].append(start)
            samples["in_turn_stop" if repeat % 2 else "parallel_stop"].append(stop)
            start, stop = once(root / "spawn", fork=False, stop_in_turn=repeat % 2 == 0)
            samples["spawn_start"].append(start)
            samples["parallel_stop" if repeat % 2 else "in_turn_stop"].append(stop)
            start, stop = background(root / "up")
            samples["harness_up_start"].append(start)
            samples["harness_up_stop"].append(stop)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    rows: list[tuple[Any, ...]] = [
        ("start, spawned components (before)", medians["spawn_start"], 1.0),
        (
            "start, forked components (now)",
            medians["fork_start"],
            medians["spawn_start"] / medians["fork_start"],
        ),
        ("stop, one component after another (before)", medians["in_turn_stop"], 1.0),
        (
            "stop, clients at once then the API server (now)",
            medians["parallel_stop"],
            medians["in_turn_stop"] / medians["parallel_stop"],
        ),
        ("`python -m harness up`: spawn → env file", medians["harness_up_start"], ""),
        ("`python -m harness up`: SIGTERM → exit", medians["harness_up_stop"], ""),
    ]
    print_table(
        f"Embedded stack, median of {args.repeats} (seconds)",
        ("measure", "seconds", "speed-up"),
        rows,
    )
    write_json(
        "stack_startup",
        args.out,
        {"repeats": args.repeats, "medians": medians, "samples": samples},
    )


if __name__ == "__main__":
    main()
