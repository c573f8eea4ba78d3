"""The differential table of docs/embedded-stack.md is what the checks under tests/apiserver say:
one row per semantic run on both servers, pinned gaps as their `gap` markers state them."""

from __future__ import annotations

from tests.apiserver import fidelity


def test_the_fidelity_table_matches_the_checks():
    expected = fidelity.render(fidelity.collect())
    assert fidelity.page_table() == expected, (
        "docs/embedded-stack.md is stale: python -m tests.apiserver.fidelity --write"
    )


def test_a_check_that_fails_anywhere_is_not_reported_as_agreeing():
    record = {
        "checks": {
            "a.py::test_same": {"semantic": "same", "gap": None},
            "a.py::test_pinned": {"semantic": "pinned", "gap": "differs so"},
            "a.py::test_broken": {"semantic": "broken", "gap": None},
        },
        "outcomes": {
            "a.py::test_same": {"embedded": "passed", "real": "passed"},
            "a.py::test_pinned": {"embedded": "xfailed", "real": "passed"},
            "a.py::test_broken": {"embedded": "passed", "real": "failed"},
        },
    }
    table = fidelity.render(record)
    assert "1 of 3 semantics agree; 1 differ and are pinned; 1 did not end as" in table
    assert "| pinned | `a.py::test_pinned` | differs: differs so | holds |" in table
    assert "| broken | `a.py::test_broken` | holds | failed | **unexpected" in table
