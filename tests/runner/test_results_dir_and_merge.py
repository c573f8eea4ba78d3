"""A fresh results directory without losing a user's files; shards' summaries combined."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.exitcodes import ExitCode
from harness.runner.junit import merge_junit
from harness.runner.merge import combine
from harness.runner.resultsdir import (
    ResultsDirError,
    discard_previous,
    prepare_results_dir,
    restore_previous,
)
from harness.runner.summary import build_summary


def test_a_new_or_empty_directory_becomes_a_layout(tmp_path):
    layout = prepare_results_dir(tmp_path / "new" / "results")
    assert layout.marker.is_file()
    (tmp_path / "empty").mkdir()
    assert prepare_results_dir(tmp_path / "empty").marker.is_file()


def test_a_previous_layout_is_replaced(tmp_path):
    layout = prepare_results_dir(tmp_path / "r")
    layout.summary.write_text("{}")
    (layout.timeline_dir / "deep").mkdir(parents=True)
    (layout.timeline_dir / "deep" / "x.jsonl").write_text("old")
    again = prepare_results_dir(tmp_path / "r")
    aside = tmp_path / "r" / ".previous-run"
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [".harness-results", aside.name]
    assert (aside / "timeline" / "deep" / "x.jsonl").read_text() == "old", "set aside, not lost"
    discard_previous(again)
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [".harness-results"]


def test_a_refused_run_puts_the_previous_layout_back(tmp_path):
    layout = prepare_results_dir(tmp_path / "r")
    layout.summary.write_text('{"old": true}')
    (layout.timeline_dir).mkdir()
    (layout.timeline_dir / "t.jsonl").write_text("old")
    again = prepare_results_dir(tmp_path / "r")
    again.junit.write_text("<new/>")  # whatever the refused run began to write
    assert restore_previous(again)
    assert layout.summary.read_text() == '{"old": true}'
    assert (layout.timeline_dir / "t.jsonl").read_text() == "old"
    assert not again.junit.exists() and not (tmp_path / "r" / ".previous-run").exists()
    assert not restore_previous(again), "nothing set aside any more"


def test_the_lock_and_the_set_aside_layout_are_the_runs_own(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / ".harness-lock").write_text("")  # left by a run that was killed
    layout = prepare_results_dir(root)
    layout.summary.write_text("{}")
    prepare_results_dir(root)
    prepare_results_dir(root)  # an older set-aside layout is replaced by the newer one
    assert (root / ".previous-run").is_dir()


def test_a_directory_with_user_files_is_refused_and_left_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ResultsDirError, match=r"not empty and holds no harness results"):
        prepare_results_dir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / ".harness-results").exists()


def test_a_layout_holding_a_foreign_file_is_refused_and_nothing_is_deleted(tmp_path):
    layout = prepare_results_dir(tmp_path / "r")
    layout.summary.write_text("{}")
    (tmp_path / "r" / "thesis.pdf").write_text("mine")
    with pytest.raises(ResultsDirError, match=r"holds thesis.pdf, which a harness run did not"):
        prepare_results_dir(tmp_path / "r")
    assert layout.summary.read_text() == "{}"


def test_a_file_in_place_of_the_directory_is_refused(tmp_path):
    (tmp_path / "r").write_text("x")
    with pytest.raises(ResultsDirError, match="not a directory"):
        prepare_results_dir(tmp_path / "r")


def shard_summary(index, count, outcomes, exit_code=ExitCode.PASSED, leaks=()):
    return build_summary(
        run_id=f"run-{index}",
        tests=[
            {"nodeid": nodeid, "outcome": outcome, "duration_seconds": 1.0}
            for nodeid, outcome in outcomes.items()
        ],
        exit_code=exit_code,
        pytest_exit_code=int(exit_code),
        started=100.0 + index,
        finished=200.0 + index,
        shard={"index": index, "count": count},
        leaks=leaks,
    )


def test_shards_combine_into_one_summary_with_one_verdict():
    merged = combine(
        [
            shard_summary(0, 2, {"a": "passed", "b": "passed"}),
            shard_summary(1, 2, {"c": "failed"}, ExitCode.TESTS_FAILED),
        ]
    )
    assert merged["counts"]["total"] == 3 and merged["counts"]["failed"] == 1
    assert (merged["verdict"], merged["exit_code"]) == ("failed", 1)
    assert merged["duration_seconds"] == 101.0
    assert [s["index"] for s in merged["shards"]] == [0, 1] and merged["problems"] == []


def test_a_shard_without_tests_does_not_spoil_a_pass():
    merged = combine(
        [shard_summary(0, 2, {"a": "passed"}), shard_summary(1, 2, {}, ExitCode.NO_TESTS)]
    )
    assert merged["exit_code"] == ExitCode.PASSED


def test_a_leak_in_one_shard_is_the_merged_runs_leak():
    leak = {"kind": "ComputeInstance", "namespace": "n", "name": "vm-1", "test": "a"}
    merged = combine(
        [
            shard_summary(0, 2, {"a": "passed"}),
            shard_summary(1, 2, {"b": "passed"}, ExitCode.LEAKED_OBJECTS, [leak]),
        ]
    )
    assert merged["exit_code"] == ExitCode.LEAKED_OBJECTS and merged["leaks"] == [leak]


@pytest.mark.parametrize(
    ("summaries", "problem"),
    [
        ([shard_summary(0, 3, {"a": "passed"}), shard_summary(2, 3, {"b": "passed"})], "[1]"),
        ([shard_summary(0, 2, {"a": "passed"}), shard_summary(1, 2, {"a": "passed"})], "more than"),
    ],
)
def test_missing_or_overlapping_shards_make_the_merge_a_harness_error(summaries, problem):
    merged = combine(summaries)
    assert merged["exit_code"] == ExitCode.HARNESS_ERROR
    assert any(problem in text for text in merged["problems"]), merged["problems"]


def test_junit_reports_merge_with_totals(tmp_path):
    for index, (tests, failures) in enumerate([(2, 0), (3, 1)]):
        suite = ET.Element("testsuite", tests=str(tests), failures=str(failures), time="1.5")
        for n in range(tests):
            ET.SubElement(suite, "testcase", classname=f"s{index}", name=f"t{n}")
        root = ET.Element("testsuites")
        root.append(suite)
        ET.ElementTree(root).write(tmp_path / f"{index}.xml")
    merged = merge_junit([tmp_path / "0.xml", tmp_path / "1.xml"], tmp_path / "out.xml")
    reread = ET.parse(tmp_path / "out.xml").getroot()
    assert merged.get("tests") == reread.get("tests") == "5"
    assert reread.get("failures") == "1" and reread.get("time") == "3.000"
    assert len(reread.findall("testsuite/testcase")) == 5


def test_the_run_after_its_preflight_keeps_doctor_json_and_a_later_run_replaces_it(tmp_path):
    root = tmp_path / "r"
    layout = prepare_results_dir(root, preflight=True)  # what `harness doctor` does
    layout.doctor.write_text('{"checks": []}')
    prepare_results_dir(root)  # `harness run` right after it
    assert layout.doctor.read_text() == '{"checks": []}'
    layout.summary.write_text("{}")
    discard_previous(prepare_results_dir(root))  # the next run, without a doctor
    assert sorted(p.name for p in root.iterdir()) == [".harness-results"], "nothing stale"
    (root / "mine.txt").write_text("x")
    with pytest.raises(ResultsDirError):
        prepare_results_dir(root, preflight=True)
