"""Live progress on a real terminal: a line refreshed in place, cleared when the wait ends."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.environ import without_harness_settings

SLOW_TEST = """
    import time

    from harness.testkit.progress import waiting


    def test_slow():
        with waiting("the slow thing", 10):
            time.sleep(7)  # the ticker shows waits past 2 s every 3 s: at least one tick
"""


def test_a_long_wait_shows_a_line_on_the_terminal_and_leaves_pytests_line_intact(tmp_path):
    if shutil.which("script") is None:
        pytest.skip("needs `script` (util-linux) to give pytest a terminal")
    (tmp_path / "test_slow.py").write_text(textwrap.dedent(SLOW_TEST))
    typescript = tmp_path / "typescript"
    command = f"{sys.executable} -m pytest -p no:cacheprovider -p no:xdist test_slow.py"
    env = without_harness_settings()
    result = subprocess.run(
        ["script", "-qfec", command, str(typescript)],
        cwd=tmp_path,
        env={**env, "TERM": "xterm", "COLUMNS": "120"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    screen = typescript.read_bytes().decode(errors="replace")
    assert result.returncode == 0, screen[-2000:]
    assert re.search(r"\r\x1b\[Kwaiting [2-7]/10 s for the slow thing", screen), screen[-2000:]
    after = screen.rsplit("waiting ", 1)[1]
    assert "\r\x1b[Ktest_slow.py " in after  # the cleared line gives pytest its line back
    assert "1 passed" in after
