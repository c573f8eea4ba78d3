"""Log excerpts for one test: the embedded stack's component logs and API request log,
cut to the test's time window and objects.

The stack's state dir is the one the plugin started, or — for `--target cluster` against a
running `python -m harness up` — the folder of the kubeconfig when it holds the stack's
`stack.json` and `logs/`. On a real control plane the operator runs as a pod whose log the API
serves (`pods/log`): its log is read from there, as on a cluster, not from the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness.config import Settings

_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)")
# "namespace/name" as the components write object keys.
_OBJECT_KEY = re.compile(r"\b[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?\b")
OPERATOR_LOG = "controller.log"
SLACK = 1.0  # seconds either side of the window: clocks of one machine, buffered writes


@dataclass(frozen=True)
class Window:
    start: float  # wall clock, seconds
    end: float

    def holds(self, moment: float) -> bool:
        return self.start - SLACK <= moment <= self.end + SLACK


def stack_dir(settings: Settings) -> Path | None:
    for candidate in (
        settings.state_dir,
        settings.kubeconfig.parent if settings.kubeconfig else None,
    ):
        if candidate and (candidate / "stack.json").is_file() and (candidate / "logs").is_dir():
            return candidate
    return None


def control_plane(state: Path) -> str:
    """`embedded` or `real`: the API server the stack in `state` runs on."""
    try:
        return str(json.loads((state / "stack.json").read_text()).get("control_plane", "embedded"))
    except (OSError, ValueError, AttributeError):
        return "embedded"


def _line_time(line: str) -> float | None:
    match = _LOG_TIME.match(line)
    if not match:
        return None
    try:
        return datetime.fromisoformat(match.group(1)).timestamp()  # the stack's local time
    except ValueError:
        return None


def filter_component_log(
    lines: Iterable[str], window: Window, identifiers: Iterable[str]
) -> list[str]:
    """Lines inside the window that name one of the test's objects, or name no object at all
    (e.g. "New restart request detected: requestedAt=…"); continuation lines (tracebacks)
    follow the line they belong to."""
    names = [i for i in identifiers if i]
    kept: list[str] = []
    keep_continuation = False
    for line in lines:
        moment = _line_time(line)
        if moment is None:
            if keep_continuation:
                kept.append(line)
            continue
        relevant = any(name in line for name in names) or not _OBJECT_KEY.search(
            line.split(": ", 1)[-1]
        )
        keep_continuation = window.holds(moment) and relevant
        if keep_continuation:
            kept.append(line)
    return kept


def filter_request_log(
    lines: Iterable[str], window: Window, identifiers: Iterable[str]
) -> list[str]:
    """Request-log records inside the window whose path or query names a test object."""
    names = [i for i in identifiers if i]
    kept: list[str] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        moment = _line_time(str(record.get("time", "")).rstrip("Z"))
        if moment is None or not window.holds(_utc(record["time"])):
            continue
        target = f"{record.get('path', '')} {json.dumps(record.get('query', {}))}"
        if any(name in target for name in names):
            kept.append(line.rstrip("\n"))
    return kept


def _utc(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def component_logs(state: Path) -> list[Path]:
    """The component logs to cut; without the operator's where its pod serves it."""
    skipped = {OPERATOR_LOG} if control_plane(state) == "real" else set()
    return sorted(
        p for p in (state / "logs").glob("*.log") if p.is_file() and p.name not in skipped
    )


def request_log(state: Path) -> Path | None:
    path = state / "logs" / "apiserver-requests.jsonl"
    return path if path.is_file() else None


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []
