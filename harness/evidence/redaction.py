"""Redaction of credentials from everything the evidence writers put under results/.

Known secrets (the API and admin tokens, kubeconfig tokens and keys, the embedded stack's
token files) are replaced wherever they occur; patterns catch the ones nobody told us about
(bearer tokens, JWTs, `token:`/`password:` fields, kubeconfig certificate and key data), and
a Secret object's data never leaves as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MARK = "<redacted>"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MARK),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MARK),
    (
        re.compile(
            r"(?i)([\"']?(?:client-key-data|client-certificate-data|certificate-authority-data|"
            r"token|id-token|refresh-token|access[_-]?token|api[_-]?token|admin[_-]?token|"
            r"password|secret|authorization)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]{6,})"
        ),
        r"\1" + MARK,
    ),
)


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a token that contains another is replaced whole.
        known = {s.strip() for s in secrets if s and len(s.strip()) >= 6}
        self._known = sorted(known, key=len, reverse=True)

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        return Redactor([*self._known, *secrets])

    def text(self, text: str) -> str:
        for secret in self._known:
            text = text.replace(secret, MARK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def object(self, obj: Any) -> Any:
        """A copy of a Kubernetes object (or any JSON value) fit to write."""
        if isinstance(obj, dict):
            if obj.get("kind") == "Secret":
                obj = {
                    **obj,
                    "data": dict.fromkeys(obj.get("data") or {}, MARK),
                    "stringData": dict.fromkeys(obj.get("stringData") or {}, MARK),
                }
            return {key: self.object(value) for key, value in obj.items()}
        if isinstance(obj, list):
            return [self.object(value) for value in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj


def kubeconfig_secrets(path: Path | None) -> list[str]:
    """Tokens, passwords and key/cert data of every user in a kubeconfig (best effort)."""
    if path is None:
        return []
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return []
    found: list[str] = []
    for entry in config.get("users") or []:
        user = (entry or {}).get("user") or {}
        for key in ("token", "password", "client-key-data", "client-certificate-data"):
            if isinstance(user.get(key), str):
                found.append(user[key])
    return found


def token_file_secrets(path: Path) -> list[str]:
    """Tokens of the embedded stack's token files (`{"tokens": [{"token": …}]}`)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [t["token"] for t in data.get("tokens", []) if isinstance(t.get("token"), str)]
