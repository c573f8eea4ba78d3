"""When to stop starting tests (a fake clock: no timed assertions)."""

from __future__ import annotations

import pytest

from harness.runner.deadline import (
    DEADLINE_AT_ENV,
    Deadline,
    DeadlineError,
    DeadlinePolicy,
    handed_on,
    resolve_deadline,
)

NOW = 1_000_000.0


def test_a_test_starts_only_when_its_estimate_fits_before_the_reserve():
    deadline = Deadline(NOW + 600, 600, "--deadline")  # reserve: 60 s
    policy = DeadlinePolicy(deadline, first_estimate=300)
    assert policy.refusal(NOW) is None  # 540 s left for a 300 s first estimate
    assert policy.refusal(NOW + 250) is not None  # 290 s left
    policy.observe(20)
    policy.observe(45)
    assert policy.estimate() == 45  # the longest seen replaces the first guess
    assert policy.refusal(NOW + 490) is None  # 50 s left, 45 needed
    reason = policy.refusal(NOW + 500)
    assert reason is not None and "deadline (--deadline) is 100 s away" in reason
    assert "~45 s" in reason and "60 s for cleanup" in reason


def test_deadline_sources_in_order():
    assert resolve_deadline(None, {}, NOW) is None
    assert resolve_deadline("90", {"HARNESS_DEADLINE": "30"}, NOW).at == NOW + 90
    assert resolve_deadline(None, {"HARNESS_DEADLINE": "30"}, NOW).at == NOW + 30
    job = resolve_deadline(None, {"HARNESS_JOB_DEADLINE": "3600"}, NOW)
    assert job.source == "HARNESS_JOB_DEADLINE" and job.at == NOW + 3600 - 120
    passed_on = resolve_deadline("5", handed_on(Deadline(NOW + 42, 50, "--deadline")), NOW + 1)
    assert passed_on.at == NOW + 42 and passed_on.total == 50, "workers share one deadline"
    assert passed_on.source == "--deadline"
    assert DEADLINE_AT_ENV in handed_on(job)


@pytest.mark.parametrize(
    ("flag", "environ", "message"),
    [
        ("soon", {}, "--deadline must be a number of seconds"),
        ("0", {}, "must be more than 0"),
        (None, {"HARNESS_DEADLINE": "-5"}, "HARNESS_DEADLINE must be more than 0"),
        (None, {"HARNESS_JOB_DEADLINE": "10"}, "leaves no time"),
    ],
)
def test_bad_deadlines_are_refused_in_one_line(flag, environ, message):
    with pytest.raises(DeadlineError, match=message):
        resolve_deadline(flag, environ, NOW)
