"""Deterministic shard selection: which tests of the suite one of N shards runs.

A test belongs to shard `sha256(node id) mod N`, so every shard decides alone, the same way on
every machine, and the shards of one suite never overlap and together cover all of it.
The shard comes from `--shard I/N`, `HARNESS_SHARD=I/N`, or a Kubernetes Indexed Job's
`JOB_COMPLETION_INDEX` together with `HARNESS_SHARD_COUNT=N`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass


class ShardError(ValueError):
    """A shard setting is malformed; the message is one line naming the setting."""


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def selects(self, nodeid: str) -> bool:
        return shard_of(nodeid, self.count) == self.index

    def as_json(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def shard_of(nodeid: str, count: int) -> int:
    digest = hashlib.sha256(nodeid.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def _whole(text: str) -> bool:
    """Digits int() takes and a person means (not "²", not "٣")."""
    return text.isascii() and text.isdigit()


def parse_shard(text: str, source: str = "--shard") -> Shard:
    index_text, sep, count_text = text.strip().partition("/")
    if not sep or not _whole(index_text) or not _whole(count_text):
        raise ShardError(f"{source} must be INDEX/COUNT (e.g. 0/3), got {text!r}")
    return _checked(int(index_text), int(count_text), source)


def _checked(index: int, count: int, source: str) -> Shard:
    if count < 1:
        raise ShardError(f"{source}: the shard count must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ShardError(f"{source}: the shard index must be in 0..{count - 1}, got {index}")
    return Shard(index, count)


def resolve_shard(flag: str | None, environ: Mapping[str, str]) -> Shard | None:
    """The flag, else HARNESS_SHARD, else an Indexed Job's index with HARNESS_SHARD_COUNT."""
    if flag:
        return parse_shard(flag)
    if environ.get("HARNESS_SHARD"):
        return parse_shard(environ["HARNESS_SHARD"], "HARNESS_SHARD")
    count_text = environ.get("HARNESS_SHARD_COUNT")
    if not count_text:
        return None
    index_text = environ.get("JOB_COMPLETION_INDEX")
    if index_text is None:
        raise ShardError(
            "HARNESS_SHARD_COUNT is set but JOB_COMPLETION_INDEX is not "
            "(an Indexed Job sets it; elsewhere use --shard INDEX/COUNT)"
        )
    if not _whole(count_text) or not _whole(index_text):
        raise ShardError(
            f"JOB_COMPLETION_INDEX={index_text!r} and HARNESS_SHARD_COUNT={count_text!r} "
            "must be whole numbers"
        )
    return _checked(int(index_text), int(count_text), "JOB_COMPLETION_INDEX/HARNESS_SHARD_COUNT")
