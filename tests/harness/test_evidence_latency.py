"""Restart latency from a recorded timeline, and its aggregation over a run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.contract.profiles import OSAC
from harness.evidence.latency import restart_samples
from harness.evidence.metrics import document, percentile, summarize, violations
from harness.testkit import timeline as recording

R = "2026-01-01T00:00:10Z"


@pytest.fixture
def clock(monkeypatch):
    """The timeline's clock, set by the test: phases come out exact."""
    now = SimpleNamespace(value=1000.0)
    fake = SimpleNamespace(time=lambda: now.value, monotonic=lambda: now.value)
    monkeypatch.setattr(recording, "time", fake)
    return now


def cr(requested=None, last=None, conditions=()):
    return {
        "metadata": {"name": "vm-a", "namespace": "hub", "uid": "cr-1", "resourceVersion": "1"},
        "spec": {"restartRequestedAt": requested} if requested else {},
        "status": {
            "lastRestartedAt": last,
            "virtualMachineReference": {"namespace": "t", "kubeVirtVirtualMachineName": "vm-a"},
            "conditions": [{"type": t, "status": "True"} for t in conditions],
        },
    }


def vmi(uid, phase="Running", deleting=False):
    metadata = {"name": "vm-a", "namespace": "t", "uid": uid, "resourceVersion": "2"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:11Z"
    return {"metadata": metadata, "status": {"phase": phase}}


def at(clock, seconds, timeline, kind, event, obj):
    clock.value = 1000.0 + seconds
    timeline.record(kind, event, obj)


def test_every_milestone_of_a_restart_and_the_phases_between_them(clock):
    timeline = recording.Timeline()
    kind = OSAC.kind
    at(clock, 0.0, timeline, "VirtualMachineInstance", "LISTED", vmi("old"))
    at(clock, 0.1, timeline, kind, "LISTED", cr())
    at(clock, 1.0, timeline, kind, "MODIFIED", cr(R))  # acknowledged
    at(clock, 1.5, timeline, kind, "MODIFIED", cr(R, conditions=["RestartInProgress"]))
    at(clock, 1.7, timeline, "VirtualMachineInstance", "MODIFIED", vmi("old", deleting=True))
    at(clock, 2.0, timeline, "VirtualMachineInstance", "DELETED", vmi("old", deleting=True))
    at(clock, 2.5, timeline, "VirtualMachineInstance", "ADDED", vmi("new", "Pending"))
    at(clock, 3.0, timeline, "VirtualMachineInstance", "MODIFIED", vmi("new", "Running"))
    at(clock, 3.25, timeline, kind, "MODIFIED", cr(R, R, ["RestartInProgress"]))
    at(clock, 3.5, timeline, kind, "MODIFIED", cr(R, R))

    [sample] = restart_samples(timeline, OSAC)
    assert sample.completed and sample.requested_at == R and sample.instance == "vm-a"
    assert sample.phases == {
        "in_progress": 0.5,
        "old_vmi_deleting": 0.2,
        "old_vmi_gone": 0.3,
        "new_vmi_created": 0.5,
        "new_vmi_running": 0.5,
        "last_restarted_at": 0.25,
        "conditions_cleared": 0.25,
        "total": 2.5,
    }


def test_completion_before_the_new_vmi_runs_counts_zero_not_negative(clock):
    """The operator completes once a VMI created after the request exists (§7.4)."""
    timeline = recording.Timeline()
    kind = OSAC.kind
    at(clock, 0.0, timeline, "VirtualMachineInstance", "LISTED", vmi("old"))
    at(clock, 0.1, timeline, kind, "LISTED", cr(R))
    at(clock, 0.2, timeline, "VirtualMachineInstance", "DELETED", vmi("old"))
    at(clock, 0.4, timeline, "VirtualMachineInstance", "ADDED", vmi("new", "Pending"))
    at(clock, 0.5, timeline, kind, "MODIFIED", cr(R, R))
    at(clock, 0.9, timeline, "VirtualMachineInstance", "MODIFIED", vmi("new", "Running"))

    [sample] = restart_samples(timeline, OSAC)
    assert sample.phases["new_vmi_running"] == 0.5
    assert sample.phases["last_restarted_at"] == 0.0
    assert sample.phases["total"] == 0.4
    assert "in_progress" not in sample.phases  # never seen: no phase, not a zero


def test_a_request_that_never_completes_is_not_a_restart(clock):
    timeline = recording.Timeline()
    at(clock, 0.0, timeline, "VirtualMachineInstance", "LISTED", vmi("old"))
    at(clock, 0.1, timeline, OSAC.kind, "LISTED", cr(R, "2026-01-01T00:00:20Z"))
    [sample] = restart_samples(timeline, OSAC)
    assert not sample.completed
    doc = document([{"test": "t", **sample.as_dict()}], {})
    assert doc["restarts"] == 0 and doc["requests_not_completed"] == 1 and doc["phases"] == {}


def test_percentiles_interpolate_between_ranks():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0


def sample(test, **phases):
    return {"test": test, "instance": "vm-x", "completed": True, "phases": phases}


def test_summary_and_limits_over_the_samples_of_a_run():
    samples = [sample("a", total=1.0, in_progress=0.1), sample("b", total=3.0, in_progress=0.2)]
    summary = summarize(samples)
    assert summary["total"] == {"count": 2, "p50": 2.0, "p90": 2.8, "p99": 2.98, "max": 3.0}
    assert summary["in_progress"]["max"] == 0.2

    found = violations(samples, {"total": 2.5, "in_progress": 0.5})
    assert [str(v) for v in found] == [
        "restart latency over its limit: restart took 3.000 s, limit 2.5 s (b, instance vm-x)"
    ]
    found = violations(samples, {"in_progress": 0.15})
    assert "phase in_progress took 0.200 s, limit 0.15 s" in str(found[0])
