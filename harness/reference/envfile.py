"""The stack's env file (`<state-dir>/env`): `NAME=value` lines a shell can source
(`set -a; . .harness/env; set +a`) and the harness reads back.

Values are shell-quoted, one per line; a value holding a line break cannot be written. Reading
accepts what a person might add by hand (blank lines, `#` comments, `export NAME=…`) and
refuses anything else with one line naming the file and the line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(ValueError):
    """The env file cannot be read as NAME=value lines; one line naming the file and line."""


def format_env(values: Mapping[str, str]) -> str:
    lines = []
    for name, value in values.items():
        if not _NAME.fullmatch(name) or "\n" in value or "\r" in value or "\0" in value:
            raise EnvFileError(f"cannot write {name}={value!r} as one line of an env file")
        lines.append(f"{name}={shlex.quote(value)}\n")
    return "".join(lines)


def parse_env(text: str, where: str = "env file") -> dict[str, str]:
    env: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):  # lines as the shell sees them
        stripped = line.strip(" \t\r")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, raw = stripped.partition("=")
        if not sep or not _NAME.fullmatch(name):
            raise EnvFileError(f"{where}:{number}: not a NAME=value line")
        try:
            parts = shlex.split(raw, comments=True)
        except ValueError as error:
            raise EnvFileError(f"{where}:{number}: {name}: {error}") from None
        if len(parts) > 1:
            raise EnvFileError(f"{where}:{number}: {name}: more than one word (quote the value)")
        env[name] = parts[0] if parts else ""
    return env


def read_env(path: Path) -> dict[str, str]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise EnvFileError(f"{path}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise EnvFileError(f"{path}: not an env file (not UTF-8 text)") from None
    return parse_env(text, str(path))
