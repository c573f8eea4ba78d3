"""A passing test's deletion is awaited while the next test runs; a leak found then still fails
the run and names the test that made the object."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.environ import without_harness_settings

HELD = textwrap.dedent(
    """
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
)


def test_a_leak_found_after_a_passing_test_fails_the_run_against_that_test(tmp_path):
    (tmp_path / "test_held.py").write_text(HELD)
    results = tmp_path / "results"
    clean = without_harness_settings()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rA",
            "test_held.py",
            "--provision-timeout",
            "8",
            "--results-dir",
            str(results),
            "--alluredir",
            str(results / "allure-results"),
        ],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-4000:]
    assert "ERROR at teardown of test_holds_its_instance" in output, output[-4000:]
    assert "found after the test, while the next one ran" in output
    assert "still present 8 s after Delete" in output
    assert "PASSED test_held.py::test_next_one" in output, output[-4000:]
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
