"""`harness run` and `harness merge` refuse bad input in one line (exit 4), losing nothing."""

from __future__ import annotations

import json

import pytest

from harness.commands.cli import main
from harness.runner.resultsdir import prepare_results_dir
from harness.runner.summary import build_summary, write_json


def one_line_exit_4(capsys, argv, message):
    assert main(argv) == 4
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--shard", "2/2"], "harness run: --shard: the shard index must be in 0..1"),
        (["run", "--shard", "x"], "--shard must be INDEX/COUNT"),
        (["run", "--deadline", "soon"], "--deadline must be a number of seconds"),
        (["run", "--workers", "0"], "--workers must be a whole number of at least 1"),
        (["merge", "out"], "the following arguments are required: SHARD_DIR"),
        (["up", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_arguments(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    one_line_exit_4(capsys, argv, message)
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_run_refuses_a_results_dir_holding_user_files(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("mine")
    one_line_exit_4(capsys, ["run"], "results dir results is not empty and holds no harness")
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["notes.txt"]


def fake_shard(root, index, outcome="passed"):
    layout = prepare_results_dir(root)
    layout.junit.write_text(
        f'<testsuites><testsuite tests="1" failures="0"><testcase classname="s" name="t{index}"/>'
        "</testsuite></testsuites>"
    )
    summary = build_summary(
        run_id=f"r{index}",
        tests=[{"nodeid": f"s::t{index}", "outcome": outcome, "duration_seconds": 1}],
        exit_code=0,
        pytest_exit_code=0,
        started=1.0,
        finished=2.0,
        shard={"index": index, "count": 2},
    )
    write_json(layout.summary, summary)
    return str(root)


def test_merge_refuses_what_is_not_a_shard_or_an_output_holding_user_files(capsys, tmp_path):
    shards = [fake_shard(tmp_path / "s0", 0), fake_shard(tmp_path / "s1", 1)]
    (tmp_path / "plain").mkdir()
    one_line_exit_4(
        capsys, ["merge", str(tmp_path / "o"), str(tmp_path / "plain")], "is not a harness results"
    )
    one_line_exit_4(capsys, ["merge", shards[0], *shards], "is also a shard")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "mine.txt").write_text("a user's file")
    one_line_exit_4(capsys, ["merge", str(tmp_path / "o"), *shards], "holds no harness results")
    assert (tmp_path / "o" / "mine.txt").read_text() == "a user's file"


def test_merge_of_fake_shards_replaces_an_earlier_merge(capsys, tmp_path):
    shards = [fake_shard(tmp_path / "s0", 0), fake_shard(tmp_path / "s1", 1, "failed")]
    for _ in range(2):
        # the shard's summary says exit 0, but its test failed: the merge says so
        assert main(["merge", str(tmp_path / "o"), *shards]) == 1
    merged = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert merged["counts"]["total"] == 2 and merged["counts"]["failed"] == 1
    assert "harness merge: 2 shards:" in capsys.readouterr().err


def test_merge_recomputes_restart_latency_from_the_shards_samples(capsys, tmp_path):
    from harness.evidence.metrics import document
    from harness.results import ResultsLayout

    def sample(test, seconds):
        return {"test": test, "instance": "i", "completed": True, "phases": {"total": seconds}}

    shards = [fake_shard(tmp_path / "s0", 0), fake_shard(tmp_path / "s1", 1)]
    for shard, seconds in zip(shards, ([1.0, 2.0], [3.0]), strict=True):
        samples = [sample(f"t{n}", value) for n, value in enumerate(seconds)]
        write_json(ResultsLayout(tmp_path / shard).metrics, document(samples, {"total": 2.5}))
    assert main(["merge", str(tmp_path / "o"), *shards]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["restarts"] == 3 and len(metrics["samples"]) == 3
    assert metrics["phases"]["total"]["max"] == 3.0 and metrics["phases"]["total"]["p50"] == 2.0
    assert len(metrics["violations"]) == 1, "limits apply to the merged samples too"
    chart = (tmp_path / "o" / "latency.png").read_bytes()
    assert chart.startswith(b"\x89PNG"), "the merged run's chart is drawn from the merged samples"


def test_test_paths_are_told_apart_from_option_values(tmp_path, monkeypatch):
    from harness.commands.suite_run import test_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_a.py").write_text("")
    (tmp_path / "kubeconfig").write_text("")
    extra = ["--kubeconfig", "kubeconfig", "--state-dir", "suites", "-k", "suites", "--via", "cr"]
    assert test_paths(extra) == []
    assert test_paths([*extra, "suites/test_a.py::test_x", "suites"]) == [
        "suites/test_a.py::test_x",
        "suites",
    ]
    assert test_paths(["--kubeconfig=kubeconfig", "kubeconfig"]) == []
