"""The timeline that waits and history assertions are built on."""

from __future__ import annotations

import threading

import pytest

from harness.testkit.descriptions import describe_instance
from harness.testkit.timeline import Timeline, WatchFailed
from harness.testkit.waits import WaitTimeout, wait_until


def ci(name, phase, rv, conditions=(), uid="u1"):
    return {
        "metadata": {"name": name, "namespace": "hub", "uid": uid, "resourceVersion": str(rv)},
        "status": {
            "phase": phase,
            "conditions": [{"type": t, "status": s, "reason": "R"} for t, s in conditions],
        },
    }


def test_a_wait_is_woken_by_the_event_not_by_its_timeout():
    timeline = Timeline()
    timeline.record("ComputeInstance", "ADDED", ci("vm-a", "Starting", 1))
    found = []

    def running():
        observation = timeline.latest("ComputeInstance")
        return observation if observation.object["status"]["phase"] == "Running" else None

    # Only a notification can end this wait before the join below gives up.
    thread = threading.Thread(target=lambda: found.append(timeline.wait(running, 3600.0)))
    thread.daemon = True
    thread.start()
    timeline.record("ComputeInstance", "MODIFIED", ci("vm-a", "Running", 2))
    thread.join(30)
    assert not thread.is_alive(), "the wait was not woken by the new event"
    assert found[0].resource_version == "2"


def test_a_timeout_explains_what_was_awaited_and_what_was_last_seen():
    timeline = Timeline()
    timeline.record(
        "ComputeInstance", "ADDED", ci("vm-a", "Starting", 7, [("RestartInProgress", "True")])
    )
    with pytest.raises(WaitTimeout) as raised:
        wait_until(
            timeline,
            lambda: None,
            0.05,
            "phase Running",
            lambda: describe_instance(timeline.latest("ComputeInstance")),
        )
    message = str(raised.value)
    assert message.startswith("waited 0 s for phase Running; last seen: ComputeInstance vm-a")
    assert "phase Starting" in message
    assert "RestartInProgress=True/R" in message
    assert "rv 7" in message


def test_current_state_forgets_deleted_objects_and_keeps_history():
    timeline = Timeline()
    timeline.record("VirtualMachineInstance", "ADDED", ci("vm-a", "Running", 1, uid="old"))
    timeline.record("VirtualMachineInstance", "DELETED", ci("vm-a", "Running", 2, uid="old"))
    timeline.record("VirtualMachineInstance", "ADDED", ci("vm-a", "Pending", 3, uid="new"))
    current = timeline.current("VirtualMachineInstance")
    assert current[("hub", "vm-a")].uid == "new"
    assert [o.uid for o in timeline.observations()] == ["old", "old", "new"]
    assert timeline.latest_by_uid("old").event == "DELETED"


def test_a_failed_watcher_turns_waits_into_an_error_not_a_timeout():
    timeline = Timeline()
    timeline.record_failure("watch of computeinstances in hub failed: HTTP 403")
    with pytest.raises(WatchFailed, match="HTTP 403"):
        timeline.wait(lambda: None, 5.0)


def test_timeline_dump_is_json_lines(tmp_path):
    import json

    timeline = Timeline()
    timeline.record("ComputeInstance", "ADDED", ci("vm-a", "Running", 1))
    path = tmp_path / "t.jsonl"
    timeline.dump_jsonl(path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0]["kind"] == "ComputeInstance"
    assert rows[0]["resourceVersion"] == "1"
