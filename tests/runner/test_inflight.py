"""Which tests may start now (`harness.runner.inflight.InFlight`)."""

from __future__ import annotations

import pytest

from harness.runner.inflight import Constraint, InFlight

FREE = Constraint()
ALONE = Constraint(exclusive=True)


def locked(*names: str) -> Constraint:
    return Constraint(locks=frozenset(names))


def test_at_most_the_limit_are_in_flight_and_a_finished_test_makes_room():
    plan = InFlight([(n, FREE) for n in range(5)], limit=3)
    assert plan.startable() == [0, 1, 2]
    assert plan.startable() == []
    plan.finished(1)
    assert plan.startable() == [3]
    assert plan.peak == 3


def test_an_exclusive_test_goes_first_and_alone_and_nothing_overtakes_it_later():
    plan = InFlight([("a", FREE), ("x", ALONE), ("b", FREE)], limit=10)
    assert plan.startable() == ["x"]
    assert plan.startable() == []
    plan.finished("x")
    assert plan.startable() == ["a", "b"]

    late = InFlight([("a", FREE), ("x", ALONE), ("y", ALONE), ("b", FREE)], limit=10)
    assert late.startable() == ["x"]
    late.finished("x")
    assert late.startable() == ["y"]
    late.finished("y")
    assert late.startable() == ["a", "b"]


def test_tests_naming_the_same_lock_never_overlap_and_others_pass_them():
    plan = InFlight(
        [
            ("w1", locked("window")),
            ("w2", locked("window", "api")),
            ("c", FREE),
            ("a", locked("api")),
        ],
        limit=10,
    )
    assert plan.startable() == ["w1", "c", "a"]
    plan.finished("w1")
    assert plan.startable() == []  # w2 also needs "api", which "a" holds
    plan.finished("a")
    assert plan.startable() == ["w2"]


def test_stop_starts_nothing_more_and_names_what_will_not_run():
    plan = InFlight([(n, FREE) for n in range(4)], limit=2)
    plan.startable()
    assert plan.stop() == [2, 3]
    assert not plan.done
    plan.finished(0)
    plan.finished(1)
    assert plan.done and plan.startable() == []


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        InFlight([], limit=0)
