"""The embedded stack, watched while the session runs: when `harness up` ends under it (it
ends when any of its components exits), the run is told at once which component died and why,
instead of its tests failing on connection errors a test timeout later."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Protocol

# What `harness up` logs when a component of its stack exits (stack.run_foreground).
_DEATH = re.compile(r"^(?P<component>\S+) exited with code (?P<code>-?\d+); stopping the stack")
_CONTROL_PLANE_DEATH = re.compile(r"^(?P<what>.+?); stopping the stack$")
POLL_INTERVAL = 0.5
TAIL_LINES = 12


class WatchedStack(Protocol):
    def poll(self) -> int | None: ...

    def log_text(self) -> str: ...

    @property
    def log_location(self) -> str: ...


class StackWatch:
    def __init__(self, stack: WatchedStack, on_death: Callable[[str], None]) -> None:
        self.stack = stack
        self.on_death = on_death
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-watch", daemon=True)

    def start(self) -> StackWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """The session is ending: the stack's own shutdown is not a death."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stopped.wait(POLL_INTERVAL):
            code = self.stack.poll()
            log = self.stack.log_text()
            # `harness up` says which component died before it stops the others (seconds).
            if code is not None or _announces_a_death(log):
                if not self._stopped.is_set():
                    self.on_death(describe_death(log, code, self.stack))
                return


def _announces_a_death(log: str) -> bool:
    return any(_DEATH.match(line) or _CONTROL_PLANE_DEATH.match(line) for line in log.splitlines())


def describe_death(log: str, code: int | None, stack: WatchedStack) -> str:
    """Which component died, and the last lines of its log as `harness up` quoted them."""
    lines = log.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        text = _without_prefix(lines[index])
        death = _DEATH.match(text)
        if death:
            quoted = [line for line in lines[index + 1 :] if line.strip()][:TAIL_LINES]
            tail = "\n".join(f"    {line}" for line in quoted)
            return (
                f"the embedded stack's {death['component']} exited with code {death['code']} "
                f"mid-run; the stack is stopped. {text.partition('. ')[2] or ''}\n{tail}"
            ).rstrip()
        control_plane = _CONTROL_PLANE_DEATH.match(text)
        if control_plane:
            return f"the real control plane failed mid-run: {control_plane['what']}"
    tail = "\n".join(f"    {line}" for line in lines[-TAIL_LINES:])
    return (
        f"the embedded stack (harness up) exited with code {code} mid-run; the last lines of "
        f"{stack.log_location}:\n{tail}"
    ).rstrip()


def _without_prefix(line: str) -> str:
    """A log line's message, after `harness up`'s `harness up: ` prefix if it has one."""
    return line.split(": ", 1)[1] if line.startswith("harness up: ") else line
