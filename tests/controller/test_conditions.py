from datetime import UTC, datetime

from harness.reference.controller.conditions import (
    find_condition,
    is_condition_true,
    remove_condition,
    set_condition,
)

T0 = datetime(2026, 3, 1, 10, 0, 0, 700000, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 10, 5, 0, tzinfo=UTC)


def test_new_condition_gets_go_field_order_and_whole_second_time():
    status: dict = {}
    assert set_condition(status, "Available", "False", "Initialized", "", T0)
    assert status["conditions"] == [
        {
            "type": "Available",
            "status": "False",
            "lastTransitionTime": "2026-03-01T10:00:00Z",
            "reason": "Initialized",
            "message": "",
        }
    ]
    assert list(status["conditions"][0]) == [
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    ]


def test_observed_generation_is_written_only_when_non_zero():
    status: dict = {}
    set_condition(status, "RestartFailed", "True", "NoVMReference", "m", T0, observed_generation=3)
    assert find_condition(status, "RestartFailed")["observedGeneration"] == 3
    set_condition(status, "RestartFailed", "True", "NoVMReference", "m", T0, observed_generation=0)
    assert "observedGeneration" not in find_condition(status, "RestartFailed")


def test_transition_time_changes_only_when_status_flips():
    status: dict = {}
    set_condition(status, "Available", "False", "Initialized", "", T0)
    assert set_condition(status, "Available", "False", "AsExpected", "x", T1)
    condition = find_condition(status, "Available")
    assert condition["lastTransitionTime"] == "2026-03-01T10:00:00Z"
    assert (condition["reason"], condition["message"]) == ("AsExpected", "x")
    assert set_condition(status, "Available", "True", "AsExpected", "x", T1)
    assert find_condition(status, "Available")["lastTransitionTime"] == "2026-03-01T10:05:00Z"


def test_unchanged_condition_reports_no_change():
    status: dict = {}
    set_condition(status, "Available", "True", "AsExpected", "", T0)
    assert not set_condition(status, "Available", "True", "AsExpected", "", T1)
    assert is_condition_true(status, "Available")


def test_remove_condition():
    status: dict = {}
    set_condition(status, "A", "True", "R", "", T0)
    set_condition(status, "B", "True", "R", "", T0)
    assert remove_condition(status, "A")
    assert [c["type"] for c in status["conditions"]] == ["B"]
    assert not remove_condition(status, "A")
    assert not remove_condition({}, "A")
