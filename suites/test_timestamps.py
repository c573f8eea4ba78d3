"""Timestamps the restart field must cope with."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.contract.timestamps import format_rfc3339
from harness.testkit.expectations import (
    assert_no_restart,
    assert_refused,
    assert_restart_requested_at,
)
from harness.testkit.findings import report_finding

MALFORMED = "contract §3: restartRequestedAt is an RFC 3339 date-time"


def test_malformed_timestamp_is_rejected_and_changes_nothing(compute_instance, via):
    """A value that is not RFC 3339 → refused (HTTP 422 from the API server on a direct CR
    patch, INVALID_ARGUMENT from the API for a Timestamp outside what RFC 3339 can express) and
    nothing restarts.

    Contract §3 (`format: date-time`), §11.4."""
    instance = compute_instance()
    before = instance.checkpoint()
    rejection = instance.change("restartRequestedAt", instance.driver.malformed_timestamp())

    assert_refused(
        rejection, via, MALFORMED, mentions="restartRequestedAt" if via == "cr" else None
    )
    assert_no_restart(instance, since=before, clause=MALFORMED)
    assert_restart_requested_at(instance, before.spec_before.get("restartRequestedAt"), MALFORMED)


def test_fractional_request_through_the_api_is_truncated(compute_instance, via):
    """A request with a fraction of a second through the API → the restart completes with
    lastRestartedAt = the truncated second, earlier than asked; reported as a contract finding.

    Contract §11.4 (the API stores whole seconds)."""
    if via != "api":
        pytest.skip("a fraction through the API; --via cr sends it to the CR verbatim (next test)")
    instance = compute_instance()
    asked = instance.server_now() + timedelta(milliseconds=500)
    request = instance.request_restart(asked)
    assert request.requested_at == format_rfc3339(asked), "the CR should hold whole seconds"
    instance.wait_restart_completed(request)
    assert request.moment < asked
    report_finding(
        f"restart_requested_at {asked.isoformat()} became lastRestartedAt "
        f"{request.requested_at}: earlier than requested (contract §11.4, whole-second CR)"
    )


def test_fractional_request_on_the_cr_is_detected_as_a_restart_loop(compute_instance, via):
    """A fraction patched straight into the CR → copied to lastRestartedAt without the
    fraction, so every pass sees the request as newer again and restarts; the harness sees more
    than one new VMI for one request and reports the loop as a contract finding.

    Contract §7.6 row 12."""
    if via != "cr":
        pytest.skip("the API cannot store a fraction; this needs --via cr")
    instance = compute_instance()
    moment = instance.server_now() - timedelta(minutes=1)
    request = instance.request_restart(moment.strftime("%Y-%m-%dT%H:%M:%S") + ".5Z")
    report_finding(instance.wait_restart_loop(request))
