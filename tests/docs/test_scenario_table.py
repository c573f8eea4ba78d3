"""docs/scenarios.md cannot drift from the suites.

Its scenario table is generated from the suites' docstrings (`tests/docs/scenarios.py`); these
tests fail when the page's block is not what the generator makes now, when a suite test has no
docstring or cites no contract clause, and when the hand-written parts of the page (the
peer-parity table, the skips) name a test the suites do not have, or a peer scenario row
names no replay of it in tests/peers/ and does not say why.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import pytest

from tests.docs import scenarios as gen


@pytest.fixture(scope="module")
def suite_scenarios() -> list[gen.Scenario]:
    found = gen.collect()
    assert found, f"no test functions found in {gen.SUITES}/test_*.py"
    return found


@pytest.fixture(scope="module")
def page() -> str:
    return gen.PAGE.read_text(encoding="utf-8")


def test_the_scenario_table_is_generated_from_the_suites(suite_scenarios, page):
    try:
        written = gen.current_block(page)
    except gen.PageError as error:
        pytest.fail(f"docs/scenarios.md: {error}")
    expected = gen.render_block(suite_scenarios)
    if written != expected:
        diff = "\n".join(
            difflib.unified_diff(
                written.splitlines(),
                expected.splitlines(),
                "docs/scenarios.md (written)",
                "generated from the suites",
                lineterm="",
            )
        )
        pytest.fail(
            "the scenario table in docs/scenarios.md differs from the suites' docstrings; "
            f"rewrite it with:\n\n    {gen.WRITE_COMMAND}\n\n{diff}",
            pytrace=False,
        )


def test_every_suite_test_has_a_docstring_that_cites_the_contract(suite_scenarios):
    problems = gen.problems(suite_scenarios)
    assert not problems, (
        "every suite test needs a docstring whose first paragraph reads as "
        "'<situation> → <expected outcome>' and that cites its clauses of docs/contract.md:\n"
        + "\n".join(problems)
    )


# --- the hand-written parts of the page ------------------------------------------------------

PEER_HEADING = re.compile(r"^## Peer parity\s*$", re.MULTILINE)
COVERED_COLUMN = "covered here by"
BACKTICKED = re.compile(r"`([^`]+)`")


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [cell.strip() for cell in cells[1:-1]]


def peer_table_names(page: str) -> list[str]:
    """Every backticked name in the "covered here by" column of the peer-parity table."""
    return [
        name
        for cell in peer_table_column(page, COVERED_COLUMN)
        for name in BACKTICKED.findall(cell)
    ]


def peer_table_column(page: str, wanted: str) -> list[str]:
    """The cells of one column of the peer-parity table, a row each."""
    heading = PEER_HEADING.search(page)
    assert heading, "docs/scenarios.md has no '## Peer parity' section"
    section = page[heading.end() :]
    following = re.search(r"^## ", section, re.MULTILINE)
    section = section[: following.start()] if following else section
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "the peer-parity section has no table"
    header = [cell.lower() for cell in _cells(rows[0])]
    assert wanted in header, f"the peer-parity table has no {wanted!r} column"
    column = header.index(wanted)
    return [_cells(row)[column] for row in rows[2:]]


def known_names(scenarios: list[gen.Scenario]) -> set[str]:
    """What the table may name: a suite module, a test function, or `module::function`."""
    return (
        {row.module for row in scenarios}
        | {row.function for row in scenarios}
        | {row.name for row in scenarios}
    )


def test_the_peer_parity_table_names_only_tests_that_exist(suite_scenarios, page):
    names = peer_table_names(page)
    assert names, "the peer-parity table names no test"
    unknown = sorted(set(names) - known_names(suite_scenarios))
    assert not unknown, (
        "docs/scenarios.md's peer-parity table names tests the suites do not have "
        "(write a suite module, a whole function name, or module::function):\n" + "\n".join(unknown)
    )


REPLAY_COLUMN = "replayed by"
NOT_REPLAYED = "not replayed: "
PEERS = Path(__file__).resolve().parents[1] / "peers"


def replay_tests() -> set[str]:
    """The test functions of tests/peers/test_*.py."""
    return {
        node.name
        for path in PEERS.glob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_peer_row_names_its_replay_or_says_why_there_is_none(page):
    replays = replay_tests()
    assert replays, f"no replay tests in {PEERS}"
    named: set[str] = set()
    for cell in peer_table_column(page, REPLAY_COLUMN):
        names = set(TEST_NAME.findall(cell))
        if not names:
            assert cell.startswith(NOT_REPLAYED) and len(cell) > len(NOT_REPLAYED) + 10, (
                f"a peer-parity row names no replay and does not say why: {cell!r}"
            )
        assert names <= replays, (
            f"the peer-parity table names replays that do not exist: {names - replays}"
        )
        named |= names
    assert named == replays, f"replays the peer-parity table does not name: {replays - named}"


PEER_COLUMN = "existing osac scenario"
TEST_NAME = re.compile(r"`(test_\w+(?:::\w+)*)`")


def prose_names(page: str) -> list[str]:
    """Backticked test names in the hand-written parts of the page: outside the generated block,
    and outside the peer-parity table's first column (which names the peers' tests)."""
    start, end = page.index(gen.BEGIN), page.index(gen.END)
    names: list[str] = []
    header: list[str] = []
    for line in (page[:start] + page[end:]).splitlines():
        if not line.startswith("|"):
            header = []
            names += TEST_NAME.findall(line)
            continue
        cells = _cells(line)
        header = header or [cell.lower() for cell in cells]
        kept = [
            cell
            for name, cell in zip(header, cells, strict=False)
            if name not in (PEER_COLUMN, REPLAY_COLUMN)
        ]
        names += TEST_NAME.findall(" ".join(kept))
    return names


def test_the_prose_names_only_tests_that_exist(suite_scenarios, page):
    unknown = sorted(set(prose_names(page)) - known_names(suite_scenarios))
    assert not unknown, "docs/scenarios.md names tests the suites do not have:\n" + "\n".join(
        unknown
    )


# --- the generator on a sample ----------------------------------------------------------------

SAMPLE = '''\
"""A suite module; its own docstring is not a row."""

import pytest


def helper():
    """Not a test."""


@pytest.mark.parametrize("value", [1, 2])
def test_first(value):
    """A request   with a `a|b` value
    and <field> or *x* → refused.

    Contract §7.6 row 3 (equal); §7.2 step 3, and again §7.6 row 3;
    §9.1–9.4 and §7.6
    rows 1 and 2.
    """


async def test_second():
    """No clause here."""


def test_third():
    pass


class TestGroup:
    def test_method(self):
        """Grouped → still a row. §3"""

    def not_a_test(self):
        """§4"""
'''


def test_the_generator_reads_a_sample_module():
    rows = gen.scenarios_in_source(SAMPLE, "test_sample")
    assert [row.name for row in rows] == [
        "test_sample::test_first",
        "test_sample::test_second",
        "test_sample::test_third",
        "test_sample::TestGroup::test_method",
    ]
    first = rows[0]
    assert first.scenario == "A request with a `a|b` value and <field> or *x* → refused."
    assert first.clauses == ("§7.6 row 3", "§7.2 step 3", "§9.1–9.4", "§7.6 rows 1 and 2")
    assert rows[3].clauses == ("§3",)
    assert gen.problems(rows) == [
        "suites/test_sample.py:21: test_second cites no contract clause (§…) in its docstring",
        "suites/test_sample.py:25: test_third has no docstring",
    ]


def test_the_generator_renders_safe_table_cells():
    rows = gen.scenarios_in_source(SAMPLE, "test_sample")
    table = gen.render_table(rows).splitlines()
    assert table[:2] == ["| test | scenario → expected outcome | contract |", "|---|---|---|"]
    assert table[2] == (
        "| `test_sample::test_first` | A request with a `a\\|b` value and &lt;field> or \\*x\\* "
        "→ refused. | §7.6 row 3, §7.2 step 3, §9.1–9.4, §7.6 rows 1 and 2 |"
    )
    assert table[4] == "| `test_sample::test_third` | **no docstring** | **none cited** |"
    assert all(len(_cells(line)) == 3 for line in table)


def test_the_block_is_replaced_between_the_markers_only():
    page = f"# Title\n\nProse before.\n\n{gen.BEGIN}\nold table\n{gen.END}\n\nProse after.\n"
    rewritten = gen.with_block(page, "new table")
    assert rewritten == (
        f"# Title\n\nProse before.\n\n{gen.BEGIN}\nnew table\n{gen.END}\n\nProse after.\n"
    )
    assert gen.current_block(rewritten) == "new table"
    with pytest.raises(gen.PageError):
        gen.current_block("no markers at all")


def test_the_peer_parity_reader_takes_the_covered_column_only():
    page = (
        "## Peer parity\n\n"
        "| existing OSAC scenario | covered here by | what this suite adds |\n"
        "|---|---|---|\n"
        "| pytest `test_peer_only` | `test_a`, `mod::test_b` | `not_checked` |\n"
        "| x \\| y | — | — |\n\n"
        "## Next\n\n| a | covered here by |\n|---|---|\n| b | `ignored` |\n"
    )
    assert peer_table_names(page) == ["test_a", "mod::test_b"]


def test_the_prose_reader_skips_the_block_and_the_peers_column():
    page = (
        "Run `test_a` first.\n\n"
        f"{gen.BEGIN}\n| `test_generated` | x | §3 |\n{gen.END}\n\n"
        "| existing OSAC scenario | covered here by |\n|---|---|\n"
        "| pytest `test_peer_only` | `test_mod::test_b` |\n"
    )
    assert prose_names(page) == ["test_a", "test_mod::test_b"]
