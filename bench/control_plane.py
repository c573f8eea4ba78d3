"""Real control plane start-up and shutdown, against the embedded stack's (the baseline).

    python bench/control_plane.py [--repeats 3] [--out FILE]

Each repeat, alternating so that both see the same load: `python -m harness.reference.
controlplane` from spawn to its READY line (etcd, kube-apiserver ready, kube-controller-manager
and kube-scheduler healthy, a kwok node Ready, the `default` service account made) and from
SIGTERM to exit; and the embedded stack (`EmbeddedStack.start()`/`stop()`: API server,
controller, KubeVirt sim, fulfillment API, webhook). Also the first phase of the real start,
the API server alone (`/readyz`), read from the READY line's file. The cold build time is
read from the cache entry's manifest (`python -m harness build-control-plane` records it).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, print_table, write_json

sys.path.insert(0, str(REPO))


def real_once(state: Path) -> tuple[float, float]:
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.reference.controlplane", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    line = process.stdout.readline() if process.stdout else ""
    started = time.perf_counter() - began
    if not line.startswith("READY "):
        process.kill()
        raise SystemExit(f"the real control plane did not start: {line!r}")
    began = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    return started, time.perf_counter() - began


def embedded_once(state: Path) -> tuple[float, float]:
    from harness.reference.stack import EmbeddedStack, StackOptions

    stack = EmbeddedStack(StackOptions(state_dir=state))
    began = time.perf_counter()
    try:
        stack.start()
    finally:
        started = time.perf_counter() - began
        began = time.perf_counter()
        stack.stop()
    return started, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from harness.reference.controlplane.binaries import find_built

    built = find_built()
    samples: dict[str, list[tuple[float, float]]] = {"real": [], "embedded": []}
    with tempfile.TemporaryDirectory(prefix="bench-control-plane-") as tmp:
        for repeat in range(args.repeats):
            samples["real"].append(real_once(Path(tmp) / f"real-{repeat}"))
            samples["embedded"].append(embedded_once(Path(tmp) / f"embedded-{repeat}"))
    medians: dict[str, Any] = {
        name: {
            "start_s": round(statistics.median(s for s, _ in values), 3),
            "stop_s": round(statistics.median(t for _, t in values), 3),
        }
        for name, values in samples.items()
    }
    print_table(
        f"start-up and shutdown, median of {args.repeats}",
        ["", "start (s)", "stop (s)"],
        [[name, m["start_s"], m["stop_s"]] for name, m in medians.items()],
    )
    manifest = built.manifest
    print(f"\ncold build recorded in the cache entry: {manifest.get('build_seconds')} s")
    write_json(
        "control_plane",
        args.out,
        {
            "medians": medians,
            "samples": {name: [list(pair) for pair in values] for name, values in samples.items()},
            "build": manifest,
        },
    )


if __name__ == "__main__":
    main()
