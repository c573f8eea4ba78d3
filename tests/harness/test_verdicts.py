"""Verdicts over recorded histories (invariants, violations on the way, why a restart did not
complete, the restart loop) and the retry ledger."""

from __future__ import annotations

import re

import pytest

from harness.clients.fulfillment_api import InstanceSpec
from harness.clients.retries import RetryBudgetExhausted, RetryLedger, retry_transient
from harness.config import load_settings
from harness.contract.profiles import OSAC
from harness.testkit import instance as instance_module
from harness.testkit import verdicts
from harness.testkit.instance import ComputeInstanceUnderTest, HarnessContext
from harness.testkit.verdicts import history_violations
from harness.testkit.waits import WaitTimeout
from tests.harness.recorded import Recorded, at, failed, in_progress


def recorded(states):
    """A history of CR states, each `(spec, status)`."""
    history = Recorded()
    for spec, status in states:
        history.cr_state(spec=spec or {"restartRequestedAt": None}, status=status)
    return history


def restart(at, last=None, conditions=()):
    status = {"conditions": [dict(c) for c in conditions]}
    if last:
        status["lastRestartedAt"] = last
    return ({"restartRequestedAt": at} if at else {}), status


def test_a_correct_history_has_no_violations():
    instance = recorded(
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
    instance = recorded(
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


def test_a_tls_connection_cut_is_transient_and_an_untrusted_certificate_is_not():
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import SSLError

    from harness.clients.retries import is_transient

    cut = "SSLError\nEOF occurred in violation of protocol (_ssl.c:2427)"
    assert is_transient(ApiException(status=0, reason=cut))
    assert is_transient(SSLError("EOF occurred in violation of protocol (_ssl.c:2427)"))
    untrusted = "SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    assert not is_transient(ApiException(status=0, reason=untrusted))
    assert not is_transient(SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    assert not is_transient(ApiException(status=401, reason="Unauthorized"))


def test_grpc_unavailable_is_transient_and_other_codes_are_not():
    from harness.clients.fulfillment_api import ApiError
    from harness.clients.retries import is_transient

    assert is_transient(ApiError("Create", "UNAVAILABLE", "connection refused"))
    assert not is_transient(ApiError("Update", "INVALID_ARGUMENT", "cores is immutable"))
    assert not is_transient(ApiError("Get", "NOT_FOUND", "no such instance"))


# --- a restart's history on the way: violations, and why it did not complete --------------

OLD, NEW = "old-uid", "new-uid"


def requested(second=5):
    history = Recorded().cr_state().vm().vmi(OLD)
    return history, history.request(at(second))


def test_a_correct_restart_has_no_violation_and_completes():
    history = Recorded().cr_state().vm().vmi(OLD)
    request = history.clean_restart(at(5), OLD, NEW, at(6))
    assert verdicts.restart_violation(history, request) is None
    cr, vmi = verdicts.restart_completed(history, request)
    assert (cr.status["lastRestartedAt"], vmi.uid) == (at(5), NEW)
    assert not verdicts.recorded_early(history, request)


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        (
            lambda h: h.cr_state(status={"lastRestartedAt": at(6)}),
            r"lastRestartedAt was .*:06Z, expected the requested .*:05Z \(contract §7\.4",
        ),
        (
            lambda h: h.conditions(failed(OSAC, "NoVMReference", "x")),
            r"RestartFailed=True \(NoVMReference: 'x'\) .* \(contract §7\.3",
        ),
        (
            lambda h: h.conditions(in_progress(OSAC, at(5))).conditions(),
            r"RestartInProgress was removed while lastRestartedAt is None.* \(contract §7\.4",
        ),
        (
            lambda h: h.cr_state(status={"lastRestartedAt": at(5)}).conditions(
                in_progress(OSAC, at(5))
            ),
            r"became True again after the restart .* \(.*contract §7\.2 step 3",
        ),
    ],
    ids=["other-time", "failed", "removed-early", "again"],
)
def test_a_history_that_breaks_the_contract_on_the_way_is_named(steps, fragment):
    history, request = requested()
    steps(history)
    assert re.search(fragment, verdicts.restart_violation(history, request))


def test_restart_failed_is_no_violation_where_the_scenario_provokes_it():
    history, request = requested()
    history.conditions(failed(OSAC, "VMIDeletionFailed", "Failed to delete VMI: forbidden"))
    assert verdicts.restart_violation(history, request, failure_expected=True) is None


def test_why_a_restart_did_not_complete():
    history, request = requested()
    assert "never acted on the request" in verdicts.why_no_completion(history, request)
    assert "§7.2 step 4" in verdicts.why_no_completion(history, request)

    history, request = requested()
    history.cr_state(status={"lastRestartedAt": at(5)})
    assert verdicts.recorded_early(history, request)
    assert "was never deleted" in verdicts.why_no_completion(history, request)

    history, request = requested()
    history.conditions(in_progress(OSAC, at(5))).delete_vmi(OLD).vmi(NEW, created=at(6))
    why = verdicts.why_no_completion(history, request)
    assert "strictly after the request" in why and "RestartInProgress is True" in why

    history, request = requested()
    history.conditions(in_progress(OSAC, at(5))).delete_vmi(OLD).vmi(NEW, created=at(5))
    assert "did not complete (contract §7.3–7.4)" in verdicts.why_no_completion(history, request)


def test_last_restarted_at_may_only_become_the_expected_request():
    history, request = requested()
    assert verdicts.last_restarted_violation(history, request, at(6)) is None
    history.cr_state(status={"lastRestartedAt": at(5)})
    assert "expected the requested" in verdicts.last_restarted_violation(history, request, at(6))
    assert verdicts.last_restarted_violation(history, request, at(5)) is None


def test_more_than_one_new_vmi_for_one_request_is_a_restart_loop():
    history, request = requested()
    history.delete_vmi(OLD).vmi(NEW, created=at(6))
    assert verdicts.restart_loop(history, request) is None
    history.cr_state(status={"lastRestartedAt": at(5)}).delete_vmi(NEW).vmi("third", at(7))
    assert "restart loop: one request of" in verdicts.restart_loop(history, request)
    assert "§7.6 row 12" in verdicts.restart_loop(history, request)


# --- the instance's waits judge on the way ------------------------------------------------


def instance_over(history):
    """An instance under test whose timeline is `history`'s (no cluster: waits only read)."""
    settings = load_settings({"--target": "embedded"}, {})
    context = HarnessContext(settings=settings, kube=None, api=None, driver=None)
    instance = ComputeInstanceUnderTest(context, InstanceSpec(), history.timeline)
    instance.cr_name, instance.vm_namespace, instance.vm_name = (
        history.cr_name,
        history.vm_namespace,
        history.vm_name,
    )
    return instance


def test_waiting_for_a_restart_returns_it_fails_a_violation_and_explains_a_timeout(monkeypatch):
    history = Recorded().cr_state().vm().vmi(OLD)
    request = history.clean_restart(at(5), OLD, NEW, at(6))
    result = instance_over(history).wait_restart_completed(request, timeout=1)
    assert (result.last_restarted_at, result.new_vmi.uid) == (at(5), NEW)

    history, request = requested()
    history.cr_state(status={"lastRestartedAt": at(6)})
    with pytest.raises(AssertionError, match=r"lastRestartedAt was .*:06Z.*contract §7\.4"):
        instance_over(history).wait_restart_completed(request, timeout=5)

    history, request = requested()
    with pytest.raises(WaitTimeout, match=r"never acted on the request.* — waited 0 s"):
        instance_over(history).wait_restart_completed(request, timeout=0.05)

    monkeypatch.setattr(instance_module, "RECORDED_GRACE", 0.05)
    history, request = requested()  # recorded while the old VMI still runs, never deleted
    history.cr_state(status={"lastRestartedAt": at(5)})
    with pytest.raises(AssertionError, match="was never deleted"):
        instance_over(history).wait_restart_completed(request, timeout=5)
