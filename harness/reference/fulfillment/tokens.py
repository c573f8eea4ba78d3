"""The tokens file: which bearer tokens the API accepts, for whom, and with which rights.

{"tokens": [{"token": "...", "subject": "system:serviceaccount:ns:name",
             "admin": false, "tenant": "tenant-harness"}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TokenFileError(ValueError):
    """The file cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Identity:
    subject: str
    admin: bool
    tenant: str


def parse_tokens(data: Any, source: str = "tokens file") -> dict[str, Identity]:
    if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
        raise TokenFileError(f'{source}: expected an object with a "tokens" list')
    identities: dict[str, Identity] = {}
    for index, entry in enumerate(data["tokens"]):
        where = f"{source}: tokens[{index}]"
        if not isinstance(entry, dict):
            raise TokenFileError(f"{where}: expected an object")
        for key in ("token", "subject", "tenant"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise TokenFileError(f"{where}: {key!r} must be a non-empty string")
        admin = entry.get("admin", False)
        if not isinstance(admin, bool):
            raise TokenFileError(f"{where}: 'admin' must be true or false")
        if entry["token"] in identities:
            raise TokenFileError(f"{where}: duplicate token")
        identities[entry["token"]] = Identity(entry["subject"], admin, entry["tenant"])
    if not identities:
        raise TokenFileError(f"{source}: no tokens")
    return identities


def load_tokens(path: Path) -> dict[str, Identity]:
    try:
        text = path.read_text()
    except OSError as error:
        raise TokenFileError(f"cannot read tokens file {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise TokenFileError(f"tokens file {path} is not valid JSON: {error}") from None
    return parse_tokens(data, f"tokens file {path}")
