"""Per-request JSON lines (time, user, verb, path, query, status, duration). Never tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any


class RequestLog:
    """Buffered writer; `flush` runs on a timer and at shutdown, not per request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8", buffering=1 << 16)
        self._encode = json.JSONEncoder(separators=(",", ":")).encode

    def record(
        self,
        *,
        user: str | None,
        verb: str,
        path: str,
        query: dict[str, str],
        status: int,
        started: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        now = time.time()
        stamp = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        )
        line: dict[str, Any] = {
            "time": stamp,
            "user": user,
            "verb": verb,
            "path": path,
            "query": query,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if extra:
            line.update(extra)
        self._file.write(self._encode(line) + "\n")

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()
