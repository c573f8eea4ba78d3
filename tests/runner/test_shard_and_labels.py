"""Shard selection is a partition of the suite; labels are valid Kubernetes label values."""

from __future__ import annotations

import re

import pytest

from harness.runner.labels import label_of_test, label_value, run_labels
from harness.runner.shard import ShardError, parse_shard, resolve_shard, shard_of

IDS = [f"suites/test_{m}.py::test_case_{n}[param-{n % 3}]" for m in range(5) for n in range(40)]
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$")


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_ids_and_agree_with_each_other(count):
    chosen = [[i for i in IDS if parse_shard(f"{k}/{count}").selects(i)] for k in range(count)]
    assert sorted(i for part in chosen for i in part) == sorted(IDS)
    assert sum(map(len, chosen)) == len(IDS)
    if count > 1:
        assert all(chosen), "a hash spreading 200 ids over a few shards leaves none empty"


def test_shard_of_is_stable_across_processes():
    # sha256, not hash(): the same id lands in the same shard on every machine and run
    assert shard_of("suites/test_restart.py::test_restart_now", 3) == shard_of(
        "suites/test_restart.py::test_restart_now", 3
    )
    assert [shard_of(f"t{n}", 4) for n in range(6)] == [shard_of(f"t{n}", 4) for n in range(6)]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"HARNESS_SHARD": "1/3"}, (1, 3)),
        ({"JOB_COMPLETION_INDEX": "2", "HARNESS_SHARD_COUNT": "4"}, (2, 4)),
        ({"HARNESS_SHARD": "0/2", "JOB_COMPLETION_INDEX": "1", "HARNESS_SHARD_COUNT": "2"}, (0, 2)),
    ],
)
def test_shard_comes_from_the_flag_the_variable_or_an_indexed_job(environ, expected):
    shard = resolve_shard(None, environ)
    assert (shard.index, shard.count) == expected if expected else shard is None
    assert (resolve_shard("1/2", environ).index, resolve_shard("1/2", environ).count) == (1, 2)


@pytest.mark.parametrize(
    ("flag", "environ", "message"),
    [
        ("3/3", {}, "index must be in 0..2"),
        ("1/0", {}, "count must be at least 1"),
        ("a/b", {}, "must be INDEX/COUNT"),
        (None, {"HARNESS_SHARD_COUNT": "3"}, "JOB_COMPLETION_INDEX is not"),
        (None, {"HARNESS_SHARD_COUNT": "x", "JOB_COMPLETION_INDEX": "0"}, "whole numbers"),
    ],
)
def test_bad_shards_are_refused_in_one_line(flag, environ, message):
    with pytest.raises(ShardError, match=message):
        resolve_shard(flag, environ)


def test_label_values_are_valid_short_and_distinct():
    values = {label_of_test(nodeid) for nodeid in IDS}
    assert len(values) == len(IDS)
    for value in values:
        assert len(value) <= 63 and LABEL_VALUE.match(value), value
    long_id = "suites/test_restart.py::" + "test_" + "x" * 120 + "[a/b::c]"
    assert len(label_of_test(long_id)) <= 63 and LABEL_VALUE.match(label_of_test(long_id))
    assert label_of_test(long_id).startswith("x"), "the readable tail of the name is kept"
    assert label_value("gw0") == "gw0"


def test_run_labels_name_run_worker_and_test():
    labels = run_labels("r20261127t064906-d10a5f", "gw1", IDS[0])
    assert labels["harness.osac.io/run"] == "r20261127t064906-d10a5f"
    assert labels["harness.osac.io/worker"] == "gw1"
    assert labels["harness.osac.io/test"] == label_of_test(IDS[0])
