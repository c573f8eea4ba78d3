"""Files written when the disk may be full or read-only: whole or not at all, and the disk's
trouble told apart from a path the user chose badly.

A full disk (ENOSPC, EDQUOT), a read-only one (EROFS), a file size limit (EFBIG) or an I/O
error is the environment's doing: exit 20 (docs/results.md, "Exit codes"). Any other error on
a path the user named (not a directory, permission denied) is bad input: exit 4.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO})


def is_disk_trouble(error: OSError) -> bool:
    return error.errno in DISK_ERRNOS


def reason(error: OSError) -> str:
    """The error in a few words, without the path (the caller names what it was writing)."""
    return error.strerror or type(error).__name__


def write_atomic(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write `path` through a temporary file beside it: a reader never sees half a file, and a
    write that fails leaves nothing behind (its space is given back for what comes next).
    `mode`: the new file's permissions (less the umask), e.g. 0o600 for a private one."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # Created with its mode: a private file is never readable by others, even briefly.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode or 0o666)
        with open(descriptor, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
