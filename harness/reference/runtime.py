"""Process conventions shared by every reference component.

A component is started by `harness.reference.stack` as `python -m harness.reference.<name>`.
It logs to stderr, prints exactly one line `READY <json>` on stdout once it serves, and shuts
down cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from harness.ownership import die_with_parent

READY_PREFIX = "READY "


def start_component(component: str, verbose: bool = False) -> logging.Logger:
    """What every component does first: die with its parent, log to stderr."""
    die_with_parent()
    return configure_logging(component, verbose)


def configure_logging(component: str, verbose: bool = False) -> logging.Logger:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format=f"%(asctime)s.%(msecs)03d {component} %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    return logging.getLogger(component)


def announce_ready(component: str, **info: Any) -> None:
    """Tell the supervising stack that this component serves; `info` carries ports and URLs."""
    sys.stdout.write(READY_PREFIX + json.dumps({"component": component, **info}) + "\n")
    sys.stdout.flush()


def parse_ready_line(line: str) -> dict[str, Any] | None:
    if not line.startswith(READY_PREFIX):
        return None
    return json.loads(line[len(READY_PREFIX) :])


def install_stop_handler(on_stop: Callable[[], None]) -> threading.Event:
    """Call `on_stop` once on SIGTERM/SIGINT; returns an event that is set at that moment."""
    stopped = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        if not stopped.is_set():
            stopped.set()
            on_stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stopped


def fail(component: str, message: str, exit_code: int = 2) -> None:
    """Bad input: one clear line on stderr, non-zero exit, no traceback."""
    sys.stderr.write(f"{component}: error: {message}\n")
    sys.exit(exit_code)
