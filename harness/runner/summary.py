"""summary.json: what a run (or a merge of shards) did, in one file a pipeline can read.

```
{"schema": 1, "run_id", "verdict", "exit_code", "pytest_exit_code",
 "started", "finished", "duration_seconds",
 "counts": {"passed", "failed", "error", "skipped", "not-run", "interrupted", "total"},
 "tests": [{"nodeid", "outcome", "duration_seconds", "reason"?}],
 "shard": {"index", "count"} | null, "shards": [...] (a merge only),
 "deadline": {"seconds", "at", "reached", "not_run"} | null,
 "interrupted_by": "SIGTERM" | "SIGINT" | null,
 "leaks": [{"kind", "namespace", "name", "test", "worker", "removed"}],
 "kept": [{"kind", "namespace", "name", "test", "worker", "command"}],
 "sweep_errors": [...], "message": "environment not ready: …" | null}
```
A merge adds "shards" (each shard's index, count, run id, verdict, exit code), "problems" (a
missing shard, a test in two shards: exit 3) and "notes" (what could not be merged). A run that
could not write all its results adds "lost" ([{"path", "reason"}]); when the disk has no room
for the whole summary, a smaller one is written (`write_summary`), marked "abridged".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.filewrites import write_atomic
from harness.runner.outcomes import count
from harness.runner.verdict import verdict_of

SCHEMA = 1


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def build_summary(
    *,
    run_id: str,
    tests: Iterable[Mapping[str, Any]],
    exit_code: int,
    pytest_exit_code: int,
    started: float,
    finished: float,
    shard: Mapping[str, int] | None = None,
    deadline: Mapping[str, Any] | None = None,
    interrupted_by: str | None = None,
    leaks: Iterable[Mapping[str, Any]] = (),
    kept: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    entries = sorted((dict(test) for test in tests), key=lambda test: test["nodeid"])
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "verdict": verdict_of(exit_code),
        "exit_code": int(exit_code),
        "pytest_exit_code": int(pytest_exit_code),
        "started": iso(started),
        "finished": iso(finished),
        "duration_seconds": round(finished - started, 3),
        "counts": count(test["outcome"] for test in entries),
        "tests": entries,
        "shard": dict(shard) if shard else None,
        "deadline": dict(deadline) if deadline else None,
        "interrupted_by": interrupted_by,
        "leaks": [dict(leak) for leak in leaks],
        "kept": [dict(item) for item in kept],
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically: a reader never sees half a file, even if the run is killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


# What an abridged summary keeps of each test, and of the lost files.
_ABRIDGED_TEST_KEYS = ("nodeid", "outcome")
_ABRIDGED_LOST = 3


def abridged(summary: Mapping[str, Any], keep_tests: bool) -> dict[str, Any]:
    """The summary without what a pipeline can do without: reasons and durations of tests (or
    the tests themselves), the details of leaks and kept objects, most lost files."""
    smaller = dict(summary)
    tests = summary.get("tests") or []
    smaller["tests"] = (
        [{key: test[key] for key in _ABRIDGED_TEST_KEYS if key in test} for test in tests]
        if keep_tests
        else []
    )
    for name in ("leaks", "kept", "sweep_errors"):
        if summary.get(name):
            smaller[name] = summary[name][:1]
    if summary.get("lost"):
        smaller["lost"] = summary["lost"][:_ABRIDGED_LOST]
    smaller["abridged"] = "the disk had no room for the whole summary: " + (
        "reasons and durations left out" if keep_tests else f"{len(tests)} tests left out"
    )
    return smaller


def write_summary(path: Path, summary: Mapping[str, Any]) -> bool:
    """Write summary.json, smaller and smaller while the disk refuses it: True for the whole
    summary, False for an abridged one; OSError when not even the smallest fits."""
    try:
        write_json(path, summary)
        return True
    except OSError:
        pass
    try:
        write_atomic(path, json.dumps(abridged(summary, keep_tests=True)) + "\n")
    except OSError:
        write_atomic(path, json.dumps(abridged(summary, keep_tests=False)) + "\n")
    return False


class SummaryError(ValueError):
    """A summary.json is missing or unreadable; one line naming the file."""


def read_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SummaryError(f"{path}: no summary.json (not a harness results layout?)") from None
    except (OSError, ValueError) as error:
        raise SummaryError(f"{path}: unreadable summary.json ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "tests" not in data:
        raise SummaryError(f"{path}: not a harness summary.json of schema {SCHEMA}")
    return data
