"""History invariants and the retry ledger, over synthetic histories."""

from __future__ import annotations

import pytest

from harness.clients.retries import RetryBudgetExhausted, RetryLedger, retry_transient
from harness.contract.profiles import OSAC
from harness.testkit.expectations import history_violations


class FakeInstance:
    """Just enough of ComputeInstanceUnderTest for history_violations."""

    profile = OSAC

    def __init__(self, states):
        from harness.testkit.timeline import Timeline

        self.timeline = Timeline()
        for rv, (spec, status) in enumerate(states, start=1):
            self.timeline.record(
                "ComputeInstance",
                "MODIFIED",
                {
                    "metadata": {
                        "name": "vm-a",
                        "namespace": "hub",
                        "uid": "u",
                        "resourceVersion": str(rv),
                    },
                    "spec": spec,
                    "status": status,
                },
            )

    def cr_observations(self, since_seq=0):
        return self.timeline.observations("ComputeInstance")


def restart(at, last=None, conditions=()):
    status = {"conditions": [dict(c) for c in conditions]}
    if last:
        status["lastRestartedAt"] = last
    return ({"restartRequestedAt": at} if at else {}), status


def test_a_correct_history_has_no_violations():
    instance = FakeInstance(
        [
            restart(None),
            restart(
                "2026-01-01T00:00:05Z",
                conditions=[
                    {"type": "RestartInProgress", "status": "True", "reason": "RestartInProgress"}
                ],
            ),
            restart("2026-01-01T00:00:05Z", last="2026-01-01T00:00:05Z"),
            restart("2026-01-01T00:00:09.5Z", last="2026-01-01T00:00:09Z"),  # §7.6 fraction dropped
        ]
    )
    assert history_violations(instance) == []


def test_backwards_unrequested_and_foreign_reasons_are_reported():
    instance = FakeInstance(
        [
            restart("2026-01-01T00:00:05Z", last="2026-01-01T00:00:05Z"),
            restart("2026-01-01T00:00:01Z", last="2026-01-01T00:00:01Z"),
            restart(
                "2026-01-01T00:00:01Z",
                last="2026-01-01T00:00:03Z",
                conditions=[{"type": "RestartFailed", "status": "True", "reason": "Oops"}],
            ),
        ]
    )
    violations = history_violations(instance)
    assert any(
        "went backwards: 2026-01-01T00:00:05Z -> 2026-01-01T00:00:01Z" in v for v in violations
    )
    assert any("became 2026-01-01T00:00:03Z, which was never requested" in v for v in violations)
    assert any("RestartFailed with reason 'Oops'" in v for v in violations)


def test_only_transport_errors_are_retried_and_each_is_recorded():
    from harness.clients import retries as retrying

    ledger = RetryLedger(budget=10)
    retrying.LEDGER, saved = ledger, retrying.LEDGER
    try:
        calls = []

        def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionResetError("reset by peer")
            return "ok"

        assert retry_transient(flaky, "GET thing") == "ok"
        assert len(ledger.entries) == 2 and "GET thing" in ledger.entries[0]

        def wrong():
            raise AssertionError("a failed check is never retried")

        with pytest.raises(AssertionError):
            retry_transient(wrong, "check")
        assert len(ledger.entries) == 2
    finally:
        retrying.LEDGER = saved


def test_the_retry_budget_stops_a_crawl():
    ledger = RetryLedger(budget=2)
    ledger.record("one")
    ledger.record("two")
    with pytest.raises(RetryBudgetExhausted, match="more than 2 transport retries"):
        ledger.record("three")


def test_grpc_unavailable_is_transient_and_other_codes_are_not():
    from harness.clients.fulfillment_api import ApiError
    from harness.clients.retries import is_transient

    assert is_transient(ApiError("Create", "UNAVAILABLE", "connection refused"))
    assert not is_transient(ApiError("Update", "INVALID_ARGUMENT", "cores is immutable"))
    assert not is_transient(ApiError("Get", "NOT_FOUND", "no such instance"))
