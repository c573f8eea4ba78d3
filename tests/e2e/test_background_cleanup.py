"""A passing test's deletion is awaited while the next test runs; a leak found then still fails
the run and names the test that made the object.

The run is in this process (pytester) on the embedded stack its session starts, and stops by
PID when it ends: nothing of it is left running afterwards."""

from __future__ import annotations

import json

import pytest

from tests.inprocess import alive, output_of, run_pytest_inprocess

HELD = """
    from harness.clients.resources import instance_resource


    def test_holds_its_instance(compute_instance, harness_context):
        instance = compute_instance()
        cr = instance.cr()
        metadata = cr["metadata"]
        harness_context.kube.merge_patch(
            instance_resource(instance.profile),
            metadata["namespace"],
            metadata["name"],
            {"metadata": {"finalizers": [*metadata["finalizers"], "example.com/hold"]}},
        )


    def test_next_one(compute_instance):
        compute_instance()
"""


@pytest.mark.timeout(300)  # what a child process was given
def test_a_leak_found_after_a_passing_test_fails_the_run_against_that_test(pytester, tmp_path):
    pytester.makepyfile(test_held=HELD)
    results, state = tmp_path / "results", tmp_path / "stack"
    result = run_pytest_inprocess(
        pytester,
        "-rA",
        "test_held.py",
        "--provision-timeout",
        "8",
        "--state-dir",
        str(state),
        "--results-dir",
        str(results),
        "--alluredir",
        str(results / "allure-results"),
    )
    output = output_of(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output[-4000:]
    # Both tests passed; the leak is a second teardown report of the first, not of the second.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_holds_its_instance*",
            "cleanup left objects behind (found after the test, while the next one ran): "
            "ComputeInstance for id * still present 8 s after Delete; *",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED test_held.py::test_holds_its_instance"])
    result.stdout.fnmatch_lines(["PASSED test_held.py::test_next_one"])
    result.stdout.fnmatch_lines(["ERROR test_held.py::test_holds_its_instance*"])
    assert "ERROR test_held.py::test_next_one" not in output

    summary = json.loads((results / "summary.json").read_text())
    outcomes = {test["nodeid"]: test["outcome"] for test in summary["tests"]}
    assert summary["exit_code"] == 1, summary
    assert outcomes == {
        "test_held.py::test_holds_its_instance": "error",
        "test_held.py::test_next_one": "passed",
    }, summary

    # allure-pytest had written the test's own result (passed) before the leak was found.
    allure = [
        json.loads(path.read_text()) for path in (results / "allure-results").glob("*-result.json")
    ]
    late = [r for r in allure if r["status"] == "failed"]
    assert [r["fullName"] for r in late] == ["test_held.py::test_holds_its_instance (cleanup)"]
    assert "found after the test, while the next one ran" in late[0]["statusDetails"]["message"]
    assert "still present 8 s after Delete" in late[0]["statusDetails"]["message"]

    # The session's stack, and every component it started, stopped with it.
    pids = json.loads((state / "stack.json").read_text())["pids"]
    assert pids and not {name: pid for name, pid in pids.items() if alive(pid)}
