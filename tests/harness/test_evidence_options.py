"""Latency limits: `--max-restart-seconds`, `--max-phase-seconds PHASE=S` (repeatable)."""

from __future__ import annotations

import pytest

from harness.config import ConfigError, load_settings
from tests.inprocess import REPO, run_pytest_inprocess

BAD = ("--max-phase-seconds", "boot=3")


def test_limits_from_flags_and_environment():
    settings = load_settings(
        {"--max-restart-seconds": "30", "--max-phase-seconds": ["in_progress=2", "total=20"]}, {}
    )
    assert settings.latency_limits == {"total": 20.0, "in_progress": 2.0}
    settings = load_settings({}, {"HARNESS_MAX_PHASE_SECONDS": "old_vmi_gone=5, new_vmi_running=9"})
    assert settings.latency_limits == {"old_vmi_gone": 5.0, "new_vmi_running": 9.0}
    assert load_settings({}, {}).latency_limits == {}


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ({"--max-phase-seconds": ["boot=3"]}, "PHASE one of in_progress"),
        ({"--max-phase-seconds": ["total"]}, "takes PHASE=SECONDS"),
        ({"--max-phase-seconds": ["total=-1"]}, "positive number of seconds"),
        ({"--max-restart-seconds": "soon"}, "must be a number of seconds"),
    ],
)
def test_bad_limits_are_refused_in_one_line(flags, words):
    with pytest.raises(ConfigError) as error:
        load_settings(flags, {})
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_bad_limit_on_the_command_line_is_a_usage_error(pytester):
    result = run_pytest_inprocess(pytester, REPO / "suites", *BAD)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.errlines
    lines = [line for line in result.errlines if line.strip()]
    assert len(lines) == 1, result.errlines
    pytest.LineMatcher(lines).fnmatch_lines(
        [
            "ERROR: --max-phase-seconds takes PHASE=SECONDS with "
            "PHASE one of in_progress, *, total, got 'boot=3'"
        ],
        consecutive=True,
    )
    assert result.outlines == [], "nothing is collected or run"
