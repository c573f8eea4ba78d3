"""How the reference provisioner's jobs read in `status.jobs`: the provider styles.

The work a job does (create or delete the VM, the `…-aap` finalizer, the reconciled version)
is the same for every style; only what the operator records differs (contract §4, §9.3, §9.5;
osac-operator 36ae96c `internal/provisioning`):

- `reference`: ids `ref-N`; the job's own states and messages; a successful job hands the
  reconciled config version back to the operator; no deprovisioning without the `…-aap`
  finalizer. The harness's own style.
- `eda`: ids `eda-webhook-N` (one counter over the instance's jobs); a provision job is
  recorded `Running` ("Webhook sent to EDA, provisioning in progress") and every poll answers
  `Unknown`; deprovisioning is skipped without the `…-aap` finalizer, recorded `Pending`, and
  polled from that finalizer (`Running` while present, `Succeeded` once removed); never
  blocks deletion.
- `aap`: numeric ids (one counter per AAP server); `Pending` "Provisioning job triggered",
  then AAP's status words as messages (`pending`, `running`, `successful`, `failed`,
  `canceled`); deprovisioning always launches, after cancelling a provision job still running,
  and blocks deletion when it fails.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

from harness.contract.profiles import PROVIDER_AAP, PROVIDER_EDA, REFERENCE_PROVIDER
from harness.reference.controller import jobs
from harness.reference.controller.provider import ProvisionStatus

REFERENCE = REFERENCE_PROVIDER
EDA = PROVIDER_EDA
AAP = PROVIDER_AAP

EDA_JOB_PREFIX = "eda-webhook-"
REFERENCE_JOB_PREFIX = "ref-"
# AAP reports its job status as these words; the operator maps them to states (aap_provider.go).
AAP_STATUS_WORDS = {
    jobs.PENDING: "pending",
    jobs.WAITING: "waiting",
    jobs.RUNNING: "running",
    jobs.SUCCEEDED: "successful",
    jobs.FAILED: "failed",
    jobs.CANCELED: "canceled",
}


@dataclass(frozen=True)
class JobFacts:
    """What the provisioner knows of one job, for a style to report."""

    job_id: str
    state: str
    message: str
    reconciled_version: str = ""


class JobStyle:
    """The `reference` style; `EdaStyle` and `AapStyle` override what differs."""

    name = REFERENCE
    # Deprovisioning waits until a running provision job has been cancelled.
    cancels_provision_first = True
    # Without the `…-aap` finalizer there is nothing to deprovision.
    skips_without_finalizer = True
    block_deletion_on_failure = False
    # The provision job's status is handed back with a deprovision trigger.
    reports_provision_on_deprovision = True

    def new_id(self, known_ids: list[str]) -> str:
        return jobs.next_job_id([{"jobID": job_id} for job_id in known_ids], REFERENCE_JOB_PREFIX)

    def provision_started(self, job: JobFacts) -> tuple[str, str]:
        """(state, message) recorded when the provision job is triggered."""
        return job.state, job.message

    def provision_status(self, job: JobFacts) -> ProvisionStatus:
        return ProvisionStatus(
            job.job_id,
            job.state,
            job.message,
            reconciled_version=job.reconciled_version if job.state == jobs.SUCCEEDED else "",
        )

    def deprovision_status(self, job: JobFacts, finalized: bool) -> ProvisionStatus:
        """`finalized`: the CR no longer carries the `…-aap` finalizer."""
        return ProvisionStatus(job.job_id, job.state, job.message)


class EdaStyle(JobStyle):
    name = EDA
    cancels_provision_first = False
    reports_provision_on_deprovision = False

    def new_id(self, known_ids: list[str]) -> str:
        return jobs.next_job_id([{"jobID": job_id} for job_id in known_ids], EDA_JOB_PREFIX)

    def provision_started(self, job: JobFacts) -> tuple[str, str]:
        return jobs.RUNNING, "Webhook sent to EDA, provisioning in progress"

    def provision_status(self, job: JobFacts) -> ProvisionStatus:
        return ProvisionStatus(
            job.job_id, jobs.UNKNOWN, "EDA provider does not support status polling"
        )

    def deprovision_status(self, job: JobFacts, finalized: bool) -> ProvisionStatus:
        if finalized:
            return ProvisionStatus(
                job.job_id, jobs.SUCCEEDED, "AAP playbook completed (finalizer removed)"
            )
        return ProvisionStatus(job.job_id, jobs.RUNNING, "Waiting for AAP playbook to complete")


class AapStyle(JobStyle):
    name = AAP
    skips_without_finalizer = False
    block_deletion_on_failure = True

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def new_id(self, known_ids: list[str]) -> str:
        with self._lock:
            return str(next(self._numbers))

    def provision_started(self, job: JobFacts) -> tuple[str, str]:
        return jobs.PENDING, "Provisioning job triggered"

    def provision_status(self, job: JobFacts) -> ProvisionStatus:
        return self._status(job)

    def deprovision_status(self, job: JobFacts, finalized: bool) -> ProvisionStatus:
        return self._status(job)

    def _status(self, job: JobFacts) -> ProvisionStatus:
        word = AAP_STATUS_WORDS.get(job.state, "unknown")
        details = job.message if job.state == jobs.FAILED else ""
        return ProvisionStatus(job.job_id, job.state, word, error_details=details)


STYLES: dict[str, type[JobStyle]] = {REFERENCE: JobStyle, EDA: EdaStyle, AAP: AapStyle}


def style_named(name: str) -> JobStyle:
    try:
        return STYLES[name]()
    except KeyError:
        known = ", ".join(STYLES)
        raise ValueError(f"unknown provider style {name!r}; choose one of: {known}") from None


def recorded_ids(ci: dict[str, Any]) -> list[str]:
    return [str(job.get("jobID") or "") for job in (ci.get("status") or {}).get("jobs") or []]
