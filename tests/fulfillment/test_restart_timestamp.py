"""restart_requested_at: truncated to whole seconds; malformed Timestamps are rejected."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2

from harness.reference.fulfillment.rpc_errors import RpcFailure
from harness.reference.fulfillment.spec import restart_timestamp


def stamp(seconds, nanos=0):
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def test_fraction_is_truncated_like_go_rfc3339():
    assert restart_timestamp(stamp(1_700_000_000, 999_999_999)) == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (stamp(1, 1_000_000_000), "nanos 1000000000 is outside"),
        (stamp(1, -1), "nanos -1 is outside"),
        (stamp(253_402_300_800), "seconds is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z"),
        (stamp(-62_135_596_801), "seconds is outside"),
    ],
)
def test_malformed_timestamps_are_invalid_argument(value, reason):
    with pytest.raises(RpcFailure) as raised:
        restart_timestamp(value)
    assert raised.value.code.name == "INVALID_ARGUMENT"
    assert reason in raised.value.message
