"""Which failed calls may be sent again: any transient one when the call is idempotent, and
only one that never left (no connection could be made) when it is not."""

from __future__ import annotations

import pytest

from harness.clients.fulfillment_api import ApiError
from harness.clients.retries import is_transient, never_sent, retry_transient


@pytest.mark.parametrize(
    ("error", "sent_again"),
    [
        (
            ApiError(
                "Create",
                "UNAVAILABLE",
                "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
                "Failed to connect to remote host: Connection refused",
            ),
            True,
        ),
        (ApiError("Create", "UNAVAILABLE", "Socket closed"), False),
        (ApiError("Create", "DEADLINE_EXCEEDED", "Deadline Exceeded"), False),
        (ApiError("Create", "INVALID_ARGUMENT", "failed to connect"), False),
    ],
)
def test_only_a_call_that_never_left_is_sent_again_when_not_idempotent(error, sent_again):
    assert never_sent(error) is sent_again
    assert is_transient(error) is (error.code == "UNAVAILABLE")


def test_a_create_is_sent_again_until_the_connection_is_made():
    answers = iter(
        [ApiError("Create", "UNAVAILABLE", "failed to connect to all addresses")] * 3 + ["ok"]
    )

    def attempt() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry_transient(attempt, "gRPC Create", retry_if=never_sent) == "ok"


def test_a_create_cut_after_it_left_is_not_sent_again():
    calls = []

    def attempt() -> str:
        calls.append(1)
        raise ApiError("Create", "UNAVAILABLE", "Socket closed")

    with pytest.raises(ApiError):
        retry_transient(attempt, "gRPC Create", retry_if=never_sent)
    assert len(calls) == 1
