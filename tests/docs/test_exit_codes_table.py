"""docs/results.md lists every exit code, each with its verdict, in one table."""

from __future__ import annotations

import re
from pathlib import Path

from harness.exitcodes import ExitCode
from harness.runner.verdict import verdict_of

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def test_every_exit_code_has_a_row_with_its_verdict_and_situations():
    section = RESULTS.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {
        int(match[1]): (match[2], match[3])
        for match in re.finditer(r"^\| (\d+) \| ([a-z-]+) \| (.+) \|$", section, re.MULTILINE)
    }
    assert sorted(rows) == sorted(int(code) for code in ExitCode)
    for code in ExitCode:
        verdict, situations = rows[int(code)]
        assert verdict == verdict_of(code), code
        assert len(situations) > 40, f"exit {int(code)} lists no situations"
