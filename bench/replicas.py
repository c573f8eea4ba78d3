"""A pytest plugin for bench/suite_concurrency.py: N tests made of a mix of suite tests, each
repeated as often as it takes (`-p replicas`, with bench/ on the path).

BENCH_MIX: the mix's node ids, comma-separated; BENCH_TESTS: N. The tests run in the order
mix[0], mix[1], …, mix[0] again, …: the first N of that cycle. BENCH_FIRST: a node id (not in
the mix) run once before them, so that the stack's start-up lands in its set-up.
"""

from __future__ import annotations

import math
import os

import pytest

MIX = [nodeid for nodeid in os.environ.get("BENCH_MIX", "").split(",") if nodeid]
TESTS = int(os.environ.get("BENCH_TESTS", "1"))
FIRST = os.environ.get("BENCH_FIRST", "")


@pytest.fixture(autouse=True)
def bench_replica(request: pytest.FixtureRequest) -> int:
    return getattr(request, "param", 0)


def _base(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not MIX or _base(metafunc.definition.nodeid) not in MIX:
        return
    count = sum(1 for nodeid in MIX if nodeid == _base(metafunc.definition.nodeid))
    repeats = math.ceil(TESTS * count / len(MIX))
    metafunc.parametrize("bench_replica", range(repeats), indirect=True, ids=lambda n: f"r{n}")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not MIX:
        return
    chosen = []
    for item in items:
        base = _base(item.nodeid)
        if base in MIX:
            replica = item.callspec.params.get("bench_replica", 0)  # type: ignore[attr-defined]
            chosen.append(((replica, MIX.index(base)), item))
    chosen.sort(key=lambda pair: pair[0])
    keep = [item for item in items if FIRST and item.nodeid == FIRST]
    keep += [item for _, item in chosen[:TESTS]]
    deselected = [item for item in items if item not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = keep
