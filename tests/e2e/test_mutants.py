"""`python -m harness mutants`: every mutant of the gallery is killed by the test its docstring
names, and the unmutated controller passes those tests (issue 4: the suites can fail).

CI runs the fast form, `--tests intended`: each mutant only against its intended test, the
unmutated controller against all of them (about 2 minutes on 2 CPUs). The whole suite against
every mutant (`--tests all`, the default) takes far longer; see docs/faults.md.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.commands.kill_matrix import (
    CaseOutcome,
    MutantInfo,
    Row,
    Verdict,
    exit_code,
    first_line,
    parse_junit,
    render,
    summary,
)
from tests.environ import without_harness_settings

from .conftest import REPO


def harness(*args, timeout=60):
    env = without_harness_settings()
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def gallery():
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.controller", "--list-mutants"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {entry["name"]: entry for entry in json.loads(result.stdout)}


def test_every_mutant_is_killed_by_its_intended_test(tmp_path):
    report = tmp_path / "matrix.json"
    result = harness(
        "mutants",
        "--tests",
        "intended",
        "--state-dir",
        str(tmp_path / "runs"),
        "--json",
        str(report),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    matrix = json.loads(report.read_text())
    rows = {row["name"]: row for row in matrix["rows"]}
    known = gallery()
    assert len(known) >= 12
    assert set(rows) == {"reference", *known}
    assert rows["reference"]["verdict"] == "passed", rows["reference"]
    for name, entry in known.items():
        row = rows[name]
        assert row["verdict"] == "killed" and row["killed_by_intended"], row
        killers = [failure["test"] for failure in row["failed"]]
        assert entry["killed_by"] in killers, row
        assert all(failure["first_line"] for failure in row["failed"]), row
    # The printed matrix says the same, a row per controller.
    for name in known:
        assert f"{name}: killed — " in result.stdout
    assert f"{len(known)} mutants: {len(known)} killed by their intended test" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--only", "bogus"), "harness mutants: --only bogus: unknown mutant; known: "),
        (("--jobs", "0"), "argument --jobs: expected a whole number >= 1, got '0'"),
        (("--tests", "some"), "argument --tests: invalid choice: 'some'"),
        (("--json", "/nonexistent/dir/m.json"), "--json /nonexistent/dir/m.json: directory"),
        (("--restart-timeout", "soon"), "not a number of seconds: 'soon'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_4(args, message, tmp_path):
    result = harness("mutants", "--state-dir", str(tmp_path / "runs"), *args)
    assert result.returncode == 4, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()


# --- the matrix itself, without stacks -------------------------------------------------------

INFO = MutantInfo("m", "does it wrong", "§7.4 — rule", "suites/test_a.py::test_one")


def row(*outcomes, info=INFO, error=""):
    return Row(info.name if info else "reference", info, list(outcomes), error=error)


def test_verdicts_and_exit_codes():
    killed = row(CaseOutcome("suites/test_a.py::test_one[x]", "failed", "AssertionError: boom"))
    elsewhere = row(CaseOutcome("suites/test_b.py::test_two", "failed", "boom"))
    survived = row(CaseOutcome("suites/test_a.py::test_one", "passed"))
    clean = row(CaseOutcome("suites/test_a.py::test_one", "passed"), info=None)
    broken = row(CaseOutcome("suites/test_a.py::test_one", "error", "teardown"), info=None)
    crashed = row(info=INFO, error="the stack did not start")
    unjudged = row(CaseOutcome("suites/test_a.py::test_one", "skipped", "profile cloudkit: …"))
    assert killed.verdict is Verdict.KILLED and killed.killed_by_intended
    assert elsewhere.verdict is Verdict.KILLED_ELSEWHERE
    assert survived.verdict is Verdict.SURVIVED
    assert clean.verdict is Verdict.PASSED
    assert broken.verdict is Verdict.REFERENCE_FAILED
    assert crashed.verdict is Verdict.ERROR
    assert unjudged.verdict is Verdict.NOT_JUDGED and unjudged.intended_skip.startswith("profile")
    assert exit_code([clean, killed]) == 0
    assert exit_code([clean, killed, unjudged]) == 0
    for bad in (elsewhere, survived):
        assert exit_code([clean, killed, bad]) == 1
    assert exit_code([broken, killed]) == 1
    assert exit_code([clean, crashed, survived]) == 3
    text = render([clean, killed, survived])
    assert "m: killed — does it wrong" in text
    assert "  * test_a.py::test_one[x]: boom" in text
    assert "m: SURVIVED" in text
    assert "1 survived" in summary([clean, killed, survived])


def test_first_line_of_a_failure_message():
    assert (
        first_line("AssertionError: lastRestartedAt was X\nassert ...") == "lastRestartedAt was X"
    )
    assert first_line("\nharness.waits.WaitTimeout: waited 20 s") == "WaitTimeout: waited 20 s"
    assert first_line("failed on teardown with x") == "failed on teardown with x"


def test_junit_report_is_read_per_test(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="suites.test_a" name="test_one" time="1"/>'
        '<testcase classname="suites.test_a" name="test_two[p]" time="1">'
        '<failure message="AssertionError: wrong">trace</failure></testcase>'
        '<testcase classname="suites.test_b" name="test_three" time="0">'
        '<skipped message="why"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert parse_junit(report) == [
        CaseOutcome("suites/test_a.py::test_one", "passed"),
        CaseOutcome("suites/test_a.py::test_two[p]", "failed", "AssertionError: wrong"),
        CaseOutcome("suites/test_b.py::test_three", "skipped", "why"),
    ]
