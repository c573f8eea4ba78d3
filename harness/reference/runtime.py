"""Process conventions shared by every reference component.

A component is started by `harness.reference.stack` as `python -m harness.reference.<name>`.
It logs to stderr, prints exactly one line `READY <json>` on stdout once it serves, and shuts
down cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

READY_PREFIX = "READY "
# Set by the process that starts a component (`process.ComponentProcess`): its own pid.
PARENT_ENV = "HARNESS_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: SIGTERM to this process when the process that started it dies, so no component
    outlives a crashed supervisor. Set here, after exec, not between fork and exec: Python code
    there makes subprocess fork instead of vfork, which runs every library's fork handlers
    (gRPC's among them) in a copy of a busy, threaded test process. A parent that died before
    this line ran is caught by comparing it with the one that started us."""
    expected = os.environ.pop(PARENT_ENV, "")
    if not expected.isdecimal() or not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(expected):
        os.kill(os.getpid(), signal.SIGTERM)


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
