"""The provider styles: how the same job reads in `status.jobs` (contract §4; osac-operator
36ae96c `internal/provisioning`)."""

from __future__ import annotations

import pytest

from harness.reference.controller import jobs
from harness.reference.controller.job_styles import (
    AapStyle,
    EdaStyle,
    JobFacts,
    JobStyle,
    style_named,
)

RUNNING = JobFacts("x", jobs.RUNNING, "Applying VirtualMachine t/vm-1")
DONE = JobFacts("x", jobs.SUCCEEDED, "applied", reconciled_version="abc")
BROKEN = JobFacts("x", jobs.FAILED, "TimeoutError: VM not ready")


def test_reference_ids_and_states_are_the_jobs_own():
    style = JobStyle()
    assert style.new_id(["ref-1", "eda-webhook-7", "ref-3"]) == "ref-4"
    assert style.provision_status(DONE).reconciled_version == "abc"
    assert style.provision_status(RUNNING).state == jobs.RUNNING


def test_eda_counts_its_webhooks_and_never_knows_a_state():
    style = EdaStyle()
    assert style.new_id(["eda-webhook-1", "7"]) == "eda-webhook-2"
    assert style.provision_started(RUNNING) == (
        "Running",
        "Webhook sent to EDA, provisioning in progress",
    )
    for facts in (RUNNING, DONE, BROKEN):
        status = style.provision_status(facts)
        assert (status.state, status.message) == (
            "Unknown",
            "EDA provider does not support status polling",
        )
        assert status.reconciled_version == ""
    assert style.deprovision_status(RUNNING, finalized=False).state == "Running"
    done = style.deprovision_status(RUNNING, finalized=True)
    assert (done.state, done.message) == ("Succeeded", "AAP playbook completed (finalizer removed)")
    assert not style.block_deletion_on_failure and not style.cancels_provision_first


def test_aap_numbers_its_jobs_and_reports_its_status_words():
    style = AapStyle()
    assert [style.new_id([]), style.new_id(["eda-webhook-1"])] == ["1", "2"]
    assert style.provision_started(RUNNING) == ("Pending", "Provisioning job triggered")
    assert style.provision_status(DONE).message == "successful"
    assert style.provision_status(DONE).reconciled_version == ""
    failed = style.provision_status(BROKEN)
    assert (failed.state, failed.message, failed.error_details) == (
        "Failed",
        "failed",
        "TimeoutError: VM not ready",
    )
    assert style.block_deletion_on_failure and style.cancels_provision_first
    assert not style.skips_without_finalizer


def test_unknown_style_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown provider style 'x'"):
        style_named("x")
