"""Classified retries: only transport trouble is retried, never an assertion or a real answer.

Transient: a refused or reset connection (over TLS also a connection cut mid-stream, which the
official client reports as status 0), HTTP 429/500/502/503/504 from the Kubernetes API, gRPC
UNAVAILABLE; never a certificate that does not verify. Everything else — 404, 409, 422,
PERMISSION_DENIED, a failed check — goes straight to the caller. Every retry is logged and
counted so a test that passed only after retries can be flagged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import tenacity

log = logging.getLogger("harness.retry")

T = TypeVar("T")

TRANSIENT_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_transient(error: BaseException) -> bool:
    # Matched by name, not imported: this module is used by code that needs neither client.
    # Client 37 raises subclasses by status (ServiceException for 5xx, NotFoundException, …).
    status = getattr(error, "status", None)
    if isinstance(status, int) and any(
        cls.__name__ == "ApiException" for cls in type(error).__mro__
    ):
        if status == 0:  # the official client's wrapping of an urllib3 SSLError
            return _cut_tls(str(getattr(error, "reason", "")))
        return status in TRANSIENT_HTTP_STATUSES
    code = getattr(error, "code", None)
    if (
        code == "UNAVAILABLE"
    ):  # harness.clients.fulfillment_api.ApiError carries the gRPC code by name
        return True
    if callable(code):
        return _grpc_unavailable(error)
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    module = type(error).__module__
    if module.startswith("urllib3") and type(error).__name__ == "SSLError":
        return _cut_tls(str(error))
    return module.startswith("urllib3") and type(error).__name__ in {
        "MaxRetryError",
        "ProtocolError",
        "NewConnectionError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
    }


def never_sent(error: BaseException) -> bool:
    """A gRPC call that failed before any request left: no connection could be made, so even
    a call that is not idempotent may be sent again."""
    if getattr(error, "code", None) != "UNAVAILABLE" and not _grpc_unavailable(error):
        return False
    details = getattr(error, "details", "")
    text = details() if callable(details) else str(details)
    return "failed to connect" in text.lower() or "connection refused" in text.lower()


def _grpc_unavailable(error: BaseException) -> bool:
    code = getattr(error, "code", None)
    if not callable(code):
        return False
    try:
        import grpc

        return bool(code() == grpc.StatusCode.UNAVAILABLE)
    except Exception:
        return False


def _cut_tls(message: str) -> bool:
    """A TLS failure that is the connection's, not the certificate's."""
    return "CERTIFICATE_VERIFY_FAILED" not in message and "certificate verify failed" not in message


class RetryBudgetExhausted(RuntimeError):
    """A test used up its retries: the environment is too flaky to judge the system under test."""


class RetryLedger:
    """Every retry of the current test (the plugin resets it per test): logged, counted, and
    capped by a per-test budget so a dying environment fails fast instead of crawling."""

    def __init__(self, budget: int = 100) -> None:
        self._lock = threading.Lock()
        self.entries: list[str] = []
        self.budget = budget

    def record(self, entry: str) -> None:
        with self._lock:
            if len(self.entries) >= self.budget:
                raise RetryBudgetExhausted(
                    f"more than {self.budget} transport retries in one test (last: {entry}); "
                    "the environment is too unstable to judge the system under test"
                )
            self.entries.append(entry)

    def drain(self) -> list[str]:
        with self._lock:
            entries, self.entries = self.entries, []
            return entries


LEDGER = RetryLedger()


def describe(error: BaseException | None) -> str:
    """One line: the HTTP status and reason of a Kubernetes error (its repr is empty)."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return f"{type(error).__name__} HTTP {status} {getattr(error, 'reason', '') or ''}".strip()
    return repr(error)


def retry_transient(
    action: Callable[[], T],
    what: str,
    attempts: int = 6,
    max_wait: float = 2.0,
    retry_if: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Run `action`, retrying transient transport errors with exponential backoff.

    Only `retry_if` errors (default `is_transient`) are retried; an assertion, a 404 or a 422
    goes straight through.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        entry = f"retry {state.attempt_number}/{attempts - 1} of {what}: {describe(error)}"
        log.warning(entry)
        LEDGER.record(entry)

    retryer = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_if),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=0.05, max=max_wait),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retryer(action)


def note_retry(entry: str) -> None:
    """Record a retry made outside `retry_transient` (e.g. a watch that resumed)."""
    log.warning(entry)
    LEDGER.record(entry)
