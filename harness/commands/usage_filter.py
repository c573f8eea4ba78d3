"""pytest's stderr passed through as it comes, except its usage block.

When pytest refuses its arguments it prints four lines (the usage synopsis, the error, its
inifile and rootdir). The command that ran it owes the user one line naming what was refused,
so the block is held back: `refused()` gives the error's words once pytest has ended with its
usage code, and the block is written out unchanged when pytest ended any other way.
"""

from __future__ import annotations

import threading
from typing import IO

USAGE_HEADER = b"ERROR: usage:"
ERROR_MARK = b": error: "


class UsageFilter:
    def __init__(self, source: IO[bytes], sink: IO[bytes]) -> None:
        self._source = source
        self._sink = sink
        self._held: list[bytes] = []
        self._thread = threading.Thread(target=self._pump, name="pytest-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for line in iter(self._source.readline, b""):
            if self._held or line.startswith(USAGE_HEADER):
                self._held.append(line)
                continue
            self._sink.write(line)
            self._sink.flush()

    def finish(self, usage_error: bool) -> str | None:
        """After pytest has exited: the refusal's words when it was one, else None (and any
        held lines are written out as they were)."""
        self._thread.join()
        if usage_error:
            for line in self._held:
                if ERROR_MARK in line:
                    return line.split(ERROR_MARK, 1)[1].decode(errors="replace").strip()
        for line in self._held:
            self._sink.write(line)
        self._sink.flush()
        return None
