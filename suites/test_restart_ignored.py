"""Requests that must change nothing (contract §7.2 step 3, §7.6 row 3).

No sleeps: each test first proves the operator has seen the request — `desiredConfigVersion`,
a hash of the whole spec including `restartRequestedAt`, moves on (§4, §7.5) — and then watches
for a bounded quiet window in which any restart sign fails the test at once.
"""

from __future__ import annotations

from datetime import timedelta

from harness.contract.timestamps import parse_rfc3339
from harness.testkit.expectations import (
    assert_request_ignored,
    assert_restart_failed_never_seen,
    await_restart,
)

OLDER_OR_EQUAL = (
    "contract §7.2 step 3 (a request not strictly after lastRestartedAt is already handled)"
)
UNMANAGED = "contract §6, §7.6 row 11 (the operator ignores a CR with management-state unmanaged)"


def test_older_request_after_a_restart_is_ignored(compute_instance, restart_timeout, quiet_window):
    """§7.6 row 3 (the peers' negative test, without their fixed 15 s sleep): after a restart at
    T, a request older than T leaves lastRestartedAt, the VMI and the restart conditions alone."""
    instance = compute_instance()
    first = instance.request_restart()
    await_restart(instance, first, restart_timeout)

    stale = instance.request_restart(parse_rfc3339(first.requested_at) - timedelta(days=365))
    instance.wait_request_observed(stale, restart_timeout)
    assert_request_ignored(instance, stale, quiet_window, OLDER_OR_EQUAL)

    assert instance.status().get("lastRestartedAt") == first.requested_at
    assert_restart_failed_never_seen(instance)


def test_resending_the_same_request_is_ignored(compute_instance, restart_timeout, quiet_window):
    """§7.6 row 3, equal timestamps: a request not strictly after lastRestartedAt is already
    handled (§7.2 step 3). The spec does not change, so there is nothing new to observe; the
    quiet window alone must stay quiet."""
    instance = compute_instance()
    first = instance.request_restart()
    await_restart(instance, first, restart_timeout)

    again = instance.request_restart(parse_rfc3339(first.requested_at))
    assert again.requested_at == first.requested_at
    assert_request_ignored(instance, again, quiet_window, OLDER_OR_EQUAL)

    assert instance.status().get("lastRestartedAt") == first.requested_at
    assert_restart_failed_never_seen(instance)


def test_unmanaged_instance_is_left_alone(compute_instance, profile, restart_timeout, quiet_window):
    """§6, §7.6 row 11: `management-state: unmanaged` makes the operator ignore the CR — no
    restart. An ignored CR shows no sign of having been seen, so a managed sibling given the
    same request at the same time proves the operator is alive and acting meanwhile."""
    unmanaged, sibling = compute_instance(), compute_instance()
    unmanaged.annotate(profile.management_state_annotation, "unmanaged")

    ignored = unmanaged.request_restart()
    control = sibling.request_restart()
    await_restart(sibling, control, restart_timeout)
    assert_request_ignored(unmanaged, ignored, quiet_window, UNMANAGED)
    assert unmanaged.status().get("lastRestartedAt") == ignored.status_before.get("lastRestartedAt")
