from harness.reference.controller import jobs


def job(job_id, job_type, timestamp, state="Running"):
    return jobs.make_job(job_id, job_type, timestamp, state)


def test_latest_by_timestamp_and_ties_go_to_the_newest_entry():
    history = [
        job("ref-1", "provision", "2026-03-01T10:00:00Z", "Succeeded"),
        job("ref-2", "provision", "2026-03-01T10:00:00Z"),
        job("ref-3", "deprovision", "2026-03-01T10:00:05Z"),
    ]
    assert jobs.find_latest(history, "provision")["jobID"] == "ref-2"
    assert jobs.find_latest(history, "deprovision")["jobID"] == "ref-3"
    assert jobs.find_latest([], "provision") is None


def test_history_is_capped_keeping_the_newest():
    history: list = []
    for index in range(12):
        history = jobs.append_job(history, job(f"ref-{index}", "provision", "t"), 10)
    assert len(history) == 10
    assert history[0]["jobID"] == "ref-2"
    assert history[-1]["jobID"] == "ref-11"


def test_next_job_id_counts_past_the_highest():
    history = [job("ref-2", "provision", "t"), job("eda-webhook-9", "provision", "t")]
    assert jobs.next_job_id(history, "ref-") == "ref-3"
    assert jobs.next_job_id([], "ref-") == "ref-1"


def test_terminal_states_and_omitempty_fields():
    assert all(jobs.is_terminal(s) for s in ("Succeeded", "Failed", "Canceled"))
    assert not any(jobs.is_terminal(s) for s in ("Pending", "Waiting", "Running", "Unknown"))
    assert jobs.make_job("a", "provision", "t", "Pending") == {
        "jobID": "a",
        "type": "provision",
        "timestamp": "t",
        "state": "Pending",
    }


def test_update_job_replaces_by_id():
    history = [job("ref-1", "provision", "t")]
    assert jobs.update_job(history, dict(history[0], state="Succeeded"))
    assert history[0]["state"] == "Succeeded"
    assert not jobs.update_job(history, job("ref-9", "provision", "t"))
