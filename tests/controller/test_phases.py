import pytest

from harness.contract.profiles import OSAC
from harness.reference.controller.phases import phase_from_printable_status


def vm(printable, paused=False):
    conditions = [{"type": "Paused", "status": "True"}] if paused else []
    return {"status": {"printableStatus": printable, "conditions": conditions}}


@pytest.mark.parametrize(
    ("printable", "expected"),
    [
        ("Provisioning", "Starting"),
        ("WaitingForVolumeBinding", "Starting"),
        ("Starting", "Starting"),
        ("Running", "Running"),
        ("Migrating", "Running"),
        ("WaitingForReceiver", "Running"),
        ("Paused", "Paused"),
        ("Stopping", "Stopping"),
        ("Stopped", "Stopped"),
        ("Terminating", "Failed"),
        ("CrashLoopBackOff", "Failed"),
        ("ErrImagePull", "Failed"),
        ("DataVolumeError", "Failed"),
    ],
)
def test_printable_status_mapping(printable, expected):
    assert phase_from_printable_status(vm(printable), "Running", OSAC.phases) == expected


@pytest.mark.parametrize("printable", ["Unknown", ""])
def test_unknown_and_empty_keep_the_current_phase(printable):
    assert phase_from_printable_status(vm(printable), "Stopped", OSAC.phases) == "Stopped"
    assert phase_from_printable_status({}, "Starting", OSAC.phases) == "Starting"


def test_running_with_paused_condition_is_paused():
    assert phase_from_printable_status(vm("Running", paused=True), "Running", OSAC.phases) == (
        "Paused"
    )
