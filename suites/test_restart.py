"""Accepted restart requests (contract §7.2–§7.4; edge cases §7.6 rows 1, 2)."""

from __future__ import annotations

from datetime import timedelta

from harness.contract.timestamps import parse_rfc3339
from harness.testkit.expectations import (
    assert_api_reports,
    assert_clean_restart,
    assert_last_restarted_monotonic,
    assert_restart_failed_never_seen,
    await_restart,
)


def test_restart_now_replaces_the_vmi_and_records_the_request(compute_instance, restart_timeout):
    """§7.6 row 1, request ≈ now on a running instance: the operator deletes the VMI (§7.3),
    KubeVirt recreates it with a new UID, and once a VMI created strictly after the request
    runs, the operator copies the request into `status.lastRestartedAt` exactly and removes both
    restart conditions (§7.4). `RestartInProgress` shows in between; `RestartFailed` never."""
    instance = compute_instance()
    request = instance.request_restart()
    result = await_restart(instance, request, restart_timeout)

    assert_clean_restart(instance, result)
    assert_restart_failed_never_seen(instance)
    assert_api_reports(instance, request.requested_at)


def test_past_request_newer_than_the_last_restart_restarts_at_once(
    compute_instance, restart_timeout
):
    """§7.6 row 2: a request in the past but newer than lastRestartedAt (or with none yet) is
    new — the VMI is deleted, the restart completes as soon as the replacement runs, and
    lastRestartedAt is that past value. There is no comparison with the wall clock (§7.2)."""
    instance = compute_instance()
    request = instance.request_restart(instance.server_now() - timedelta(minutes=10))
    result = await_restart(instance, request, restart_timeout)

    assert_clean_restart(instance, result)
    assert_restart_failed_never_seen(instance)


def test_repeated_restarts_each_replace_the_vmi_once_and_move_forward(
    compute_instance, restart_timeout
):
    """§7.2: every strictly newer request is one restart — exactly one new VMI each — and
    lastRestartedAt only ever moves forward."""
    instance = compute_instance()
    previous = None
    for _ in range(3):
        if previous is not None:
            # A request must be strictly newer than lastRestartedAt, which has 1 s resolution.
            instance.wait_for_server_time(parse_rfc3339(previous.requested_at))
        request = instance.request_restart()
        result = await_restart(instance, request, restart_timeout)
        assert_clean_restart(instance, result)
        previous = request

    assert_last_restarted_monotonic(instance)
    assert len(instance.last_restarted_history()) == 3
    assert_restart_failed_never_seen(instance)


def test_many_instances_restart_concurrently(compute_instance, provision_timeout, restart_timeout):
    """Restarts of several instances at once do not interfere: each instance gets exactly one
    new VMI and its own request time."""
    instances = [compute_instance(wait="none") for _ in range(4)]
    for instance in instances:
        instance.wait_provisioned(provision_timeout)
    requests = [instance.request_restart() for instance in instances]
    for instance, request in zip(instances, requests, strict=True):
        result = await_restart(instance, request, restart_timeout)
        assert_clean_restart(instance, result)
        assert_restart_failed_never_seen(instance)
