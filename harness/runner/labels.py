"""Run/worker/test labels on every object a run creates, so a sweep can find what is left.

Label values are at most 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric;
a test id is longer and freer than that, so its label is a readable tail plus a hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Mapping

from harness.contract.profiles import RUN_LABEL, TEST_LABEL, WORKER_LABEL

# One run id for the command and every pytest process of the run.
RUN_ID_ENV = "HARNESS_RUN_ID"
MAX_VALUE = 63
_INVALID = re.compile(r"[^A-Za-z0-9._-]+")


def new_run_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"r{stamp}-{secrets.token_hex(3)}"


def label_value(text: str) -> str:
    """`text` as a valid label value; different texts stay different (a hash when shortened)."""
    cleaned = _INVALID.sub("_", text).strip("._-")
    if cleaned == text and 0 < len(text) <= MAX_VALUE:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    tail = cleaned[-(MAX_VALUE - len(digest) - 1) :].strip("._-")
    return f"{tail}-{digest}" if tail else digest


def label_of_test(nodeid: str) -> str:
    """The id's tail (the test's name), made unique by a hash of the whole id."""
    return label_value(nodeid)


def worker_id(environ: Mapping[str, str] | None = None) -> str:
    return (environ if environ is not None else os.environ).get("PYTEST_XDIST_WORKER") or "main"


def run_labels(run_id: str, worker: str, nodeid: str) -> dict[str, str]:
    return {
        RUN_LABEL: label_value(run_id),
        WORKER_LABEL: label_value(worker),
        TEST_LABEL: label_of_test(nodeid),
    }
