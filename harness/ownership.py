"""What a run owns: the directories it writes (locked while it runs) and the processes it starts
(they die with it).

A directory lock is `flock` on `<dir>/.harness-lock`, so it ends with the process that holds it,
however that process ends; the file says who holds it, for the one line a second run is refused
with. A process that holds a lock passes it to its children through the environment
(`HARNESS_HELD_LOCKS`), so the doctor and the run that `run-local.sh --target cluster` starts
inside one lock are not refused by their own parent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".harness-lock"
HELD_ENV = "HARNESS_HELD_LOCKS"
PARENT_ENV = "HARNESS_PARENT_PID"
_PR_SET_PDEATHSIG = 1


class DirectoryBusy(RuntimeError):
    """Another live process holds the directory; the message names it."""


def _held() -> list[str]:
    return [p for p in os.environ.get(HELD_ENV, "").split(os.pathsep) if p]


def _owner_line(path: Path) -> str:
    try:
        owner = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        owner = {}
    if not owner:
        return "another harness process"
    since = time.strftime("%H:%M:%S", time.localtime(owner.get("since", 0)))
    return f"{owner.get('command', 'a harness process')} (pid {owner.get('pid')}, since {since})"


@contextlib.contextmanager
def hold(directory: Path, command: str, what: str) -> Iterator[None]:
    """Hold `directory` (which must exist) for the block; DirectoryBusy when another process
    does. `command` names the holder to whoever is refused; `what` names the directory
    ("results dir", "state dir")."""
    key = str(directory.resolve())
    if key in _held():
        yield  # our parent holds it for us
        return
    path = directory / LOCK_NAME
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise DirectoryBusy(f"{what} {directory}: cannot lock it: {error.strerror}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DirectoryBusy(
                f"{what} {directory} is in use by {_owner_line(path)}; wait for it to end or "
                f"choose another {what}"
            ) from None
        owner = {"command": command, "pid": os.getpid(), "since": time.time()}
        with contextlib.suppress(OSError):  # the owner's name is a courtesy; the lock holds
            os.ftruncate(descriptor, 0)
            os.write(descriptor, json.dumps(owner).encode())
        previous = os.environ.get(HELD_ENV)
        os.environ[HELD_ENV] = os.pathsep.join([*_held(), key])
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(HELD_ENV, None)
            else:
                os.environ[HELD_ENV] = previous
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Linux: `signum` to this process when the process that started it dies, if that process
    asked for it by putting its pid in HARNESS_PARENT_PID."""
    expected = os.environ.pop(PARENT_ENV, "")
    if expected.isdecimal():
        die_with(int(expected), signum)


def die_with(parent: int, signum: int) -> None:
    """Linux: `signum` to this process when its parent, `parent`, dies. Set after exec, never
    between fork and exec (Python code there makes subprocess fork instead of vfork, running
    every library's fork handlers in a busy, threaded process). A parent that died before this
    line ran is caught by comparing it with the one that started us."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)
