"""RFC 3339 timestamps as Kubernetes and the fulfillment API write them.

`metav1.Time` serialises as UTC with a `Z` suffix and whole seconds (contract §3); the restart
completion check compares such values, so every time the harness sends or compares goes through
these helpers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


class TimestampError(ValueError):
    pass


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (fraction and offset allowed) into an aware UTC datetime."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}")
    normalized = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    normalized = normalized.replace("t", "T")
    try:
        value = datetime.fromisoformat(normalized)
    except ValueError as error:
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r} ({error})") from None
    return value.astimezone(UTC)


def is_rfc3339(text: object) -> bool:
    try:
        parse_rfc3339(text)  # type: ignore[arg-type]
    except TimestampError:
        return False
    return True


def format_rfc3339(value: datetime) -> str:
    """Render like Go's `time.RFC3339` on a UTC `metav1.Time`: whole seconds, `Z`."""
    if value.tzinfo is None:
        raise TimestampError("naive datetime; timestamps must carry a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate_to_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_rfc3339() -> str:
    return format_rfc3339(now_utc())


def normalize_rfc3339(text: str) -> str:
    """Re-serialise like a Go controller would: the fraction is dropped, the zone becomes `Z`."""
    return format_rfc3339(parse_rfc3339(text))
