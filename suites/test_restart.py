"""Accepted restart requests."""

from __future__ import annotations

from datetime import timedelta

from harness.testkit.expectations import (
    assert_api_reports,
    assert_clean_restart,
    assert_last_restarted_history,
    assert_restart_failed_never_seen,
    assert_untouched,
)


def test_restart_now_replaces_the_vmi_and_records_the_request(compute_instance):
    """Request ≈ now → the old VMI (by UID) is deleted before exactly one new VMI, created
    strictly after the request, runs; lastRestartedAt equals the request on the CR and the API;
    RestartInProgress "Restart initiated at …" seen, then removed; RestartFailed never.

    Contract §7.6 row 1; §7.3 (delete, condition), §7.4 (completion: an exact copy, both
    conditions removed), §10 (the API mirrors lastRestartedAt)."""
    instance = compute_instance()
    request = instance.request_restart()
    result = instance.wait_restart_completed(request)

    assert_clean_restart(instance, result)
    assert_restart_failed_never_seen(instance)
    assert_api_reports(instance, request.requested_at)


def test_past_request_newer_than_the_last_restart_restarts_at_once(compute_instance):
    """Request 10 minutes in the past, none before → a full restart at once; lastRestartedAt is
    that past value.

    Contract §7.6 row 2; §7.2 step 4 (newer than lastRestartedAt, or the first: no comparison
    with the wall clock)."""
    instance = compute_instance()
    request = instance.request_restart(instance.server_now() - timedelta(minutes=10))
    result = instance.wait_restart_completed(request)

    assert_clean_restart(instance, result)
    assert_restart_failed_never_seen(instance)


def test_repeated_restarts_each_replace_the_vmi_once_and_move_forward(compute_instance):
    """Three restarts of one instance → one new VMI each; lastRestartedAt takes each request in
    turn, strictly increasing.

    Contract §7.2 (every strictly newer request is one restart), §7.4."""
    instance = compute_instance()
    requests = []
    for _ in range(3):
        if requests:  # strictly newer than lastRestartedAt, which has 1 s resolution
            instance.wait_for_server_time(requests[-1].moment)
        requests.append(instance.request_restart())
        assert_clean_restart(instance, instance.wait_restart_completed(requests[-1]))

    assert_last_restarted_history(instance, [request.requested_at for request in requests])
    assert_restart_failed_never_seen(instance)


def test_many_instances_restart_concurrently(compute_instance):
    """Four instances restarted at once, a fifth left alone → each of the four gets exactly one
    new VMI and its own request time; none disturbs another, and the fifth's VMI, VM and status
    do not change.

    Contract §7 (the restart is per instance: all state lives in each CR's status), §7.7 (a
    restart deletes its own instance's VMI and changes no object of another instance: the fifth
    instance, watched throughout, is the witness)."""
    instances = [compute_instance(wait="none") for _ in range(4)]
    bystander = compute_instance(wait="none")
    for instance in [*instances, bystander]:
        instance.wait_provisioned()
    untouched = bystander.checkpoint()
    requests = [instance.request_restart() for instance in instances]
    for instance, request in zip(instances, requests, strict=True):
        assert_clean_restart(instance, instance.wait_restart_completed(request))
        assert_restart_failed_never_seen(instance)
    assert_untouched(bystander, untouched)
