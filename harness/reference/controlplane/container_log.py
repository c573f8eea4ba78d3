"""A local process's log kept as a container log, the way a node's container runtime does.

kwok serves a simulated container's log (`kubectl logs`, the API's `pods/log`) from a file in
the CRI log format, one `<RFC 3339 time> <stream> F <line>` per line, as the kubelet reads
them from the runtime. `ContainerLog` follows a component's log file (its stderr) and appends
each line written after `start()` to such a file, stamped with the time it was copied (what
an earlier run left in the component's log is not this container's).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

POLL_SECONDS = 0.2


def cri_line(text: str, moment: datetime, stream: str = "stderr") -> str:
    """One full (`F`) CRI log line; kwok and the kubelet parse nanosecond RFC 3339 times."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return f"{stamp} {stream} F {text}\n"


class ContainerLog:
    def __init__(
        self,
        source: Path,
        target: Path,
        log: Callable[[str], None] = lambda _: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll: float = POLL_SECONDS,
    ) -> None:
        self.log = log
        self.source = source
        self.target = target
        self.clock = clock
        self.poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="container-log", daemon=True)
        self._partial = b""
        self._offset = 0

    def start(self) -> ContainerLog:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.target.touch()
        with contextlib.suppress(FileNotFoundError):
            self._offset = self.source.stat().st_size
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        try:
            self._follow()
        except OSError as error:  # a full disk: the container's log ends, the stack goes on
            self.log(f"container log {self.target}: stopped copying: {error}")

    def _follow(self) -> None:
        reader: IO[bytes] | None = None
        try:
            with self.target.open("a") as out:
                while True:
                    stopping = self._stop.is_set()
                    if reader is None:
                        with contextlib.suppress(FileNotFoundError):
                            reader = self.source.open("rb")
                            reader.seek(self._offset)
                    if reader is not None:
                        self._copy(reader, out)
                    if stopping:  # one last copy after stop(): nothing written before is lost
                        return
                    self._stop.wait(self.poll)
        finally:
            if reader is not None:
                reader.close()

    def _copy(self, reader: IO[bytes], out: IO[str]) -> None:
        lines = (self._partial + reader.read()).split(b"\n")
        self._partial = lines.pop()  # a line still being written
        if lines:
            moment = self.clock()
            out.write("".join(cri_line(line.decode(errors="replace"), moment) for line in lines))
            out.flush()
