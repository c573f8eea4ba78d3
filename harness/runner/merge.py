"""`python -m harness merge OUT SHARD_DIR...`: the shards of one run as one results layout.

JUnit suites are gathered under one `<testsuites>`; allure-results, timeline/ and diagnostics/
are copied (a name two shards both wrote is kept once per shard, never overwritten); the
summaries are combined into one with its own verdict and exit code; metrics.json is recomputed
from the shards' raw restart samples. A missing shard or a test run by two shards makes the
merge a harness error (exit 3): the union would not be the suite.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.exitcodes import ExitCode
from harness.results import ResultsLayout
from harness.runner.junit import JunitError, merge_junit
from harness.runner.outcomes import count
from harness.runner.resultsdir import (
    ResultsDirError,
    discard_previous,
    is_results_layout,
    prepare_results_dir,
)
from harness.runner.summary import (
    SummaryError,
    build_summary,
    read_summary,
    write_json,
)
from harness.runner.verdict import RunFacts, decide

# Merged exit code: the first of these any shard has (no-tests only if every shard had none).
ORDER = (
    ExitCode.USAGE_ERROR,
    ExitCode.ENVIRONMENT_NOT_READY,
    ExitCode.HARNESS_ERROR,
    ExitCode.TESTS_FAILED,
    ExitCode.LEAKED_OBJECTS,
    ExitCode.INTERRUPTED,
    ExitCode.DEADLINE_REACHED,
    ExitCode.PASSED,
    ExitCode.NO_TESTS,
)


class MergeUsageError(ValueError):
    """Bad input to `harness merge`; one line."""


def merge(out: Path, shard_dirs: Sequence[Path], err: Callable[[str], None]) -> int:
    shards = [ResultsLayout(path) for path in shard_dirs]
    summaries = _read_shards(out, shards)
    try:
        layout = prepare_results_dir(out)
    except ResultsDirError as error:
        raise MergeUsageError(str(error)) from None
    notes: list[str] = []
    junits = [shard.junit for shard in shards if shard.junit.is_file()]
    notes += [f"{shard.root}: no junit.xml" for shard in shards if not shard.junit.is_file()]
    try:
        merge_junit(junits, layout.junit)
    except JunitError as error:
        raise MergeUsageError(str(error)) from None
    for shard in shards:
        for source, target in (
            (shard.allure_results, layout.allure_results),
            (shard.timeline_dir, layout.timeline_dir),
            (shard.diagnostics_dir, layout.diagnostics_dir),
        ):
            _copy_tree(source, target, shard.root.name, notes)
    notes += _merge_metrics(shards, layout)
    summary = combine(summaries)
    summary["notes"] = notes
    write_json(layout.summary, summary)
    write_json(layout.environment, _environment(shards, summaries))
    discard_previous(layout)
    counts = summary["counts"]
    shown = ", ".join(f"{counts[k]} {k}" for k in counts if k != "total" and counts[k])
    err(
        f"harness merge: {len(shards)} shards: {summary['verdict']} (exit "
        f"{summary['exit_code']}): {shown or 'no tests'}; results in {layout.root}"
    )
    for note in summary["problems"] + notes:
        err(f"harness merge: {note}")
    return int(summary["exit_code"])


def _read_shards(out: Path, shards: Sequence[ResultsLayout]) -> list[dict[str, Any]]:
    if not shards:
        raise MergeUsageError("give at least one shard results directory")
    summaries = []
    for shard in shards:
        if shard.root.resolve() == out.resolve():
            raise MergeUsageError(f"the output {out} is also a shard; choose a new directory")
        if not shard.root.is_dir() or not is_results_layout(shard.root):
            raise MergeUsageError(f"{shard.root} is not a harness results directory")
        try:
            summaries.append(read_summary(shard.summary))
        except SummaryError as error:
            raise MergeUsageError(str(error)) from None
    return summaries


def combine(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the whole run; shards' own summaries are listed under `shards`."""
    tests: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for summary in summaries:
        for test in summary["tests"]:
            if test["nodeid"] in tests:
                problems.append(f"test {test['nodeid']} ran in more than one shard")
            tests[test["nodeid"]] = test
    shard_info = [
        {
            **(summary.get("shard") or {}),
            "run_id": summary["run_id"],
            "verdict": summary["verdict"],
            "exit_code": summary["exit_code"],
        }
        for summary in summaries
    ]
    shard_counts = {info.get("count") for info in shard_info}
    indexes = [info.get("index") for info in shard_info]
    if len(shard_counts) == 1 and None not in shard_counts:
        (shard_count,) = shard_counts
        missing = sorted(set(range(int(shard_count or 0))) - set(indexes))
        if missing:
            problems.append(f"shards {missing} of {shard_count} are missing")
        if len(set(indexes)) != len(indexes):
            problems.append("a shard index appears more than once")
    elif len(summaries) > 1:
        problems.append(
            f"the directories are not shards of one count: {sorted(map(str, shard_counts))}"
        )
    deadlines = [s["deadline"] for s in summaries if s.get("deadline")]
    leaks = [leak for s in summaries for leak in s.get("leaks") or []]
    interrupted_by = next((s["interrupted_by"] for s in summaries if s["interrupted_by"]), None)
    # The shards' own codes, and what the combined tests say (a hand-edited or partial summary
    # cannot hide a failure).
    codes = {int(summary["exit_code"]) for summary in summaries}
    codes.add(
        decide(
            RunFacts(
                pytest_exit_code=0,
                counts=count(test["outcome"] for test in tests.values()),
                leaks=len(leaks),
                interrupted=interrupted_by is not None,
                deadline_reached=any(d.get("reached") for d in deadlines),
            )
        )
    )
    if problems:
        codes.add(ExitCode.HARNESS_ERROR)
    code = next((c for c in ORDER if int(c) in codes), ExitCode.HARNESS_ERROR)
    merged = build_summary(
        run_id=",".join(sorted({str(s["run_id"]) for s in summaries})),
        tests=tests.values(),
        exit_code=code,
        pytest_exit_code=max(int(s["pytest_exit_code"]) for s in summaries),
        started=min(_epoch(s["started"]) for s in summaries),
        finished=max(_epoch(s["finished"]) for s in summaries),
        deadline={"reached": any(d.get("reached") for d in deadlines)} if deadlines else None,
        interrupted_by=interrupted_by,
        leaks=leaks,
        kept=[item for s in summaries for item in s.get("kept") or []],
    )
    merged["shards"] = shard_info
    merged["problems"] = problems
    return merged


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _copy_tree(source: Path, target: Path, tag: str, notes: list[str]) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            if filecmp.cmp(path, destination, shallow=False):
                continue
            destination = destination.with_name(f"{tag}-{destination.name}")
            notes.append(f"{path.relative_to(source.parent)} written by two shards; kept both")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def _merge_metrics(shards: Sequence[ResultsLayout], layout: ResultsLayout) -> list[str]:
    documents = []
    for shard in shards:
        if shard.metrics.is_file():
            try:
                documents.append(json.loads(shard.metrics.read_text()))
            except ValueError:
                return [f"{shard.metrics}: unreadable; metrics.json not merged"]
    if not documents:
        return []
    if not all(isinstance(d.get("samples"), list) for d in documents):
        return ["a shard's metrics.json has no raw samples; metrics.json not merged"]
    try:
        from harness.evidence.metrics import document  # type: ignore[import-not-found]
    except ImportError:
        return ["metrics.json not merged: this harness has no restart latency metrics"]
    samples = [sample for d in documents for sample in d["samples"]]
    limits: dict[str, float] = {}
    for d in documents:
        limits.update(d.get("limits") or {})
    merged = document(samples, limits)
    write_json(layout.metrics, merged)
    try:
        from harness.evidence.chart import run_chart

        layout.latency_chart.write_bytes(run_chart(merged["phases"]))
    except Exception as error:  # the chart only shows metrics.json, which is written
        return [f"latency.png not drawn: {type(error).__name__}: {error}"]
    return []


def _environment(
    shards: Sequence[ResultsLayout], summaries: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    for shard in shards:
        if shard.environment.is_file():
            try:
                environment = dict(json.loads(shard.environment.read_text()))
            except ValueError:
                continue
            environment["run_id"] = ",".join(sorted({str(s["run_id"]) for s in summaries}))
            environment["merged_from"] = [str(shard.root) for shard in shards]
            return environment
    return {"merged_from": [str(shard.root) for shard in shards]}
