"""`status.jobs[]` bookkeeping (profile B): states, latest-by-type, capped history, ids."""

from __future__ import annotations

from typing import Any

Job = dict[str, Any]

TYPE_PROVISION = "provision"
TYPE_DEPROVISION = "deprovision"

PENDING = "Pending"
WAITING = "Waiting"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELED = "Canceled"
UNKNOWN = "Unknown"

TERMINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELED})

DEFAULT_MAX_JOB_HISTORY = 10


def is_terminal(state: str | None) -> bool:
    return state in TERMINAL_STATES


def find_latest(jobs: list[Job] | None, job_type: str) -> Job | None:
    """The newest job of a type by `timestamp`.

    Go keeps the first of equal timestamps; timestamps have whole-second resolution once stored,
    so two jobs in one second would make Go pick the older one and trigger a duplicate job. The
    list is chronological (newest last), so ties go to the later entry here.
    """
    latest: Job | None = None
    for job in jobs or []:
        if job.get("type") != job_type:
            continue
        if latest is None or str(job.get("timestamp") or "") >= str(latest.get("timestamp") or ""):
            latest = job
    return latest


def append_job(jobs: list[Job] | None, job: Job, max_history: int) -> list[Job]:
    combined = [*(jobs or []), job]
    return combined[-max_history:] if len(combined) > max_history else combined


def update_job(jobs: list[Job] | None, updated: Job) -> bool:
    for index, job in enumerate(jobs or []):
        if job.get("jobID") == updated.get("jobID"):
            assert jobs is not None
            jobs[index] = updated
            return True
    return False


def next_job_id(jobs: list[Job] | None, prefix: str) -> str:
    """`<prefix><max counter + 1>` over existing ids with that prefix (like EDA's ids)."""
    highest = 0
    for job in jobs or []:
        job_id = str(job.get("jobID") or "")
        if job_id.startswith(prefix) and job_id[len(prefix) :].isdecimal():
            highest = max(highest, int(job_id[len(prefix) :]))
    return f"{prefix}{highest + 1}"


def make_job(
    job_id: str,
    job_type: str,
    timestamp: str,
    state: str,
    message: str = "",
    block_deletion_on_failure: bool = False,
) -> Job:
    """A JobStatus dict in Go field order; `message`/`blockDeletionOnFailure` are omitempty."""
    job: Job = {"jobID": job_id, "type": job_type, "timestamp": timestamp, "state": state}
    if message:
        job["message"] = message
    if block_deletion_on_failure:
        job["blockDeletionOnFailure"] = True
    return job
