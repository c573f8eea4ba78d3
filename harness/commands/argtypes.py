"""Argument types shared by the commands: each refuses a bad value with the few words argparse
puts after the flag's name ("argument --state-dir: …"), so the user gets one line and exit 4."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

LONGEST = 1e6  # about 11 days: more is a typo, and beyond what some timers accept


def seconds(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value > LONGEST:
        raise argparse.ArgumentTypeError(f"not a number of seconds up to {LONGEST:g}: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def directory(text: str) -> Path:
    """A directory to use or create: named, and neither a file nor inside one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; name a directory")
    path = Path(text).expanduser()
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                where = "" if place == path else f" (inside {place}, a file)"
                raise argparse.ArgumentTypeError(f"{text}: not a directory{where}")
            break
    return path
