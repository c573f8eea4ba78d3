"""The plugin's terminal summary sections, shown by sessions run in this process (pytester), and
what makes that faithful: the inner session loads the plugin by its entry point, and two sessions
in one process (this one and an inner one, or two inner ones) never see each other's results."""

from __future__ import annotations

import json

import pytest

from harness.plugin.run_hooks import STATE_KEY
from harness.plugin.terminal_summary import PLUGIN_NAME
from tests.inprocess import output_of, run_pytest_inprocess

FINDING_AND_RETRY = """
    import pytest

    from harness.clients.retries import note_retry
    from harness.testkit.findings import report_finding


    def test_loads_the_plugin_by_its_entry_point(request):
        import harness.plugin.configure

        assert request.config.pluginmanager.get_plugin("osac_restart_harness") is (
            harness.plugin.configure
        )


    def test_sees_a_hazard():
        report_finding("a documented hazard showed up")


    def test_passes_after_a_retry():
        note_retry("retry 1/5 of GET example: HTTP 503")
        note_retry("retry 2/5 of GET example: HTTP 503")


    def test_fails_after_a_retry():
        note_retry("retry 1/5 of GET example: HTTP 503")
        assert False, "a failure of its own"
"""


def test_findings_and_retried_passes_have_their_own_sections(pytester):
    pytester.makepyfile(test_sessions=FINDING_AND_RETRY)
    result = run_pytest_inprocess(pytester, "test_sessions.py")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output_of(result)
    result.assert_outcomes(passed=3, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*= contract findings =*",
            "test_sessions.py::test_sees_a_hazard: a documented hazard showed up",
            "*= passed only after transport retries =*",
            "test_sessions.py::test_passes_after_a_retry: 2 retries (see the test's "
            "'transport retries' section with -rA)",
        ],
        consecutive=True,
    )
    assert "test_sessions.py::test_fails_after_a_retry: " not in output_of(result)


def test_sessions_in_one_process_never_see_each_others_results(pytester, request, tmp_path):
    """Inner sessions one after the other — one with a finding and a retried pass, one that
    stops with "environment not ready" — then one that has none of that, and sees none of it;
    nor does this session."""
    outer = request.config.stash[STATE_KEY]
    outer_summary = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    # This worker's earlier tests may have had findings or retried passes of their own.
    findings_before = list(outer_summary.findings)
    retried_before = list(outer_summary.passed_after_retries)
    pytester.makepyfile(test_first=FINDING_AND_RETRY)
    first = run_pytest_inprocess(pytester, "test_first.py")
    assert first.ret == pytest.ExitCode.TESTS_FAILED, output_of(first)
    first.stdout.fnmatch_lines(["*= contract findings =*", "*= passed only after transport*"])

    pytester.makepyfile(
        test_stops="""
        import pytest


        def test_stops_the_run():
            pytest.exit("environment not ready: not today", returncode=20)
        """
    )
    stopped = run_pytest_inprocess(pytester, "test_stops.py")
    assert stopped.ret == 20, output_of(stopped)

    pytester.makepyfile(test_last="def test_plain():\n    pass\n")
    last = run_pytest_inprocess(pytester, "test_last.py", f"--results-dir={tmp_path}")
    assert last.ret == pytest.ExitCode.OK, output_of(last)
    last.assert_outcomes(passed=1)
    assert "contract findings" not in output_of(last)
    assert "transport retries" not in output_of(last)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [test["nodeid"] for test in summary["tests"]] == ["test_last.py::test_plain"]
    assert (summary["exit_code"], summary["message"]) == (0, None), summary

    # This session: its own setup report still there, none of the inner sessions' taken.
    assert [(r.nodeid, r.when) for r in outer.reports if r.nodeid == request.node.nodeid] == [
        (request.node.nodeid, "setup")
    ]
    assert not [r for r in outer.reports if r.nodeid.startswith("test_")]
    assert outer.exits == [] and outer.collection_errors == 0
    assert outer_summary.findings == findings_before
    assert outer_summary.passed_after_retries == retried_before


def test_without_its_entry_point_the_inner_session_has_no_harness_plugin(pytester):
    """The plugin this process loaded is not carried into the inner session: it loads its own,
    by entry point (the root conftest registers it only where no entry point did)."""
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run_pytest_inprocess(pytester, "-p", "no:osac_restart_harness", "--target", "cluster")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output_of(result)
    result.stderr.fnmatch_lines(["*error: unrecognized arguments: --target"])
