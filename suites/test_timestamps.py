"""Timestamps the restart field must cope with (contract §3, §7.6 last row, §11.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.contract.timestamps import format_rfc3339, parse_rfc3339
from harness.testkit.expectations import await_restart, restart_loop
from harness.testkit.findings import report_finding


def test_malformed_timestamp_is_rejected_and_changes_nothing(compute_instance, via, quiet_window):
    """§3: a value that is not RFC 3339 is refused — HTTP 422 from the API server on a direct CR
    patch (`format: date-time`), INVALID_ARGUMENT from the API for a Timestamp outside what RFC
    3339 can express — and nothing restarts."""
    instance = compute_instance()
    quiet = instance.checkpoint()
    rejection = instance.change("restartRequestedAt", instance.driver.malformed_timestamp())

    assert rejection is not None, "a malformed restartRequestedAt was accepted"
    if via == "cr":
        assert rejection.code == "422", rejection
        assert "restartRequestedAt" in rejection.message, rejection
    else:
        assert rejection.code == "INVALID_ARGUMENT", rejection
    instance.expect_no_restart(quiet, quiet_window)
    assert instance.cr()["spec"].get("restartRequestedAt") == quiet.spec_before.get(
        "restartRequestedAt"
    )


def test_fractional_request_through_the_api_is_truncated(compute_instance, via, restart_timeout):
    """§11.4 (code): the API stores whole seconds, so a request with a fraction restarts with
    lastRestartedAt = the truncated second — earlier than what was asked. Reported as a finding."""
    if via != "api":
        pytest.skip("a fraction through the API; --via cr sends it to the CR verbatim (next test)")
    instance = compute_instance()
    asked = instance.server_now() + timedelta(milliseconds=500)
    request = instance.request_restart(asked)
    assert request.requested_at == format_rfc3339(asked), "the CR should hold whole seconds"
    result = await_restart(instance, request, restart_timeout)
    assert result.completed.object["status"]["lastRestartedAt"] == request.requested_at
    assert parse_rfc3339(request.requested_at) < asked
    report_finding(
        f"restart_requested_at {asked.isoformat()} became lastRestartedAt "
        f"{request.requested_at}: earlier than requested (contract §11.4, whole-second CR)"
    )


def test_fractional_request_on_the_cr_is_detected_as_a_restart_loop(
    compute_instance, via, restart_timeout
):
    """§7.6 last row: a fraction patched straight into the CR is copied to lastRestartedAt
    without the fraction, so on the next pass the request is newer again — a restart every pass.
    The harness must notice (more than one new VMI for one request) and report it."""
    if via != "cr":
        pytest.skip("the API cannot store a fraction; this needs --via cr")
    instance = compute_instance()
    moment = instance.server_now() - timedelta(minutes=1)
    request = instance.request_restart(moment.strftime("%Y-%m-%dT%H:%M:%S") + ".5Z")
    finding = instance.timeline.wait(lambda: restart_loop(instance, request), restart_timeout)
    assert finding, (
        f"a fractional restartRequestedAt should loop (contract §7.6) but the harness saw "
        f"VMIs {instance.vmi_uids_seen(request.seq_before)}; {instance.describe()}"
    )
    report_finding(finding)
