"""`python -m harness.reference.controlplane --state-dir DIR [--nodes N] [--build]`

Starts a real control plane from the cached binaries (`--build` builds them first if this pin
has no cache entry), prints `READY {"component": "controlplane", "url": …, "kubeconfig": …}`
once the API server is ready and every kwok node is Ready, and runs until SIGTERM or SIGINT,
then stops every process. Bad input, or no build for the current pins: one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import NoReturn

from harness.reference.controlplane.binaries import (
    BuildError,
    NotBuilt,
    ensure_built,
    find_built,
)
from harness.reference.controlplane.control_plane import (
    ControlPlaneError,
    ControlPlaneOptions,
    RealControlPlane,
)
from harness.reference.runtime import announce_ready, fail, install_stop_handler, start_component

COMPONENT = "controlplane"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(COMPONENT, message)
        raise SystemExit(2)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m harness.reference.controlplane", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--nodes", type=_positive, default=1, help="kwok nodes (default 1)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--build", action="store_true", help="build the binaries if missing")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger = start_component(COMPONENT, args.verbose)
    try:
        binaries = ensure_built(logger.info) if args.build else find_built()
    except (BuildError, NotBuilt) as error:
        fail(COMPONENT, str(error))
    options = ControlPlaneOptions(state_dir=args.state_dir, nodes=args.nodes, host=args.host)
    plane = RealControlPlane(binaries, options)
    stop = threading.Event()
    install_stop_handler(stop.set)
    try:
        url = plane.start()
        announce_ready(COMPONENT, url=url, kubeconfig=str(plane.kubeconfig))
        while not stop.wait(0.5):
            dead = plane.dead_process()
            if dead is not None:
                logger.error("%s", dead.failure())
                return 1
        return 0
    except ControlPlaneError as error:
        logger.error("%s", error)
        sys.stderr.write(f"{COMPONENT}: error: {error}\n")
        return 1
    finally:
        plane.stop()


if __name__ == "__main__":
    sys.exit(main())
