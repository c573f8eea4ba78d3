"""The scenario table of docs/scenarios.md, generated from the suites' docstrings.

    python -m tests.docs.scenarios            print the table
    python -m tests.docs.scenarios --write    rewrite the generated block of docs/scenarios.md
    python -m tests.docs.scenarios --check    exit 1 when that block is not what this generates

The suites are read with `ast`, never imported. One row per test function of `suites/test_*.py`
(a parametrized test is one row), modules in sorted file-name order, functions in file order:
the test as `module::function`, the scenario (the first paragraph of its docstring, up to the
first blank line, whitespace collapsed) and the contract clauses (every `§…` citation in the
whole docstring, as written, deduplicated, in order of appearance). The block sits between
`BEGIN` and `END` in the page, so hand-written prose can surround it.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
PAGE = ROOT / "docs" / "scenarios.md"
BEGIN = "<!-- scenarios:begin -->"
END = "<!-- scenarios:end -->"
WRITE_COMMAND = "python -m tests.docs.scenarios --write"
NOTICE = (
    "<!-- Generated from the suites' docstrings by `"
    + WRITE_COMMAND
    + "`; edit the docstrings, not this table. -->"
)
HEADER = ("test", "scenario → expected outcome", "contract")

# A clause citation as docs/contract.md's grammar writes it: §N, §N.M, §N.M–N.P (or a hyphen),
# §N.M step K, §N.M row K, §N.M rows K and L, §N.M rows K, L and M.
CITATION = re.compile(
    r"§\d+(?:\.\d+)?"
    r"(?:[–-]\d+\.\d+"
    r"|\s+(?:step|row)\s+\d+\b"
    r"|\s+(?:steps|rows)\s+\d+(?:\s*,\s*\d+)*\s+and\s+\d+\b)?"
)
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Scenario:
    """One test function of a suite, as the table shows it."""

    module: str  # file stem, e.g. test_restart
    function: str  # e.g. test_restart_now_replaces_the_vmi_and_records_the_request
    line: int
    scenario: str  # first paragraph of the docstring, whitespace collapsed; "" without one
    clauses: tuple[str, ...]  # every § citation of the docstring, as written, in order
    has_docstring: bool

    @property
    def name(self) -> str:
        return f"{self.module}::{self.function}"


def collapse(text: str) -> str:
    return " ".join(text.split())


def first_paragraph(docstring: str) -> str:
    return collapse(PARAGRAPH_BREAK.split(docstring.strip(), maxsplit=1)[0])


def clause_citations(docstring: str) -> tuple[str, ...]:
    found = (collapse(match[0]) for match in CITATION.finditer(docstring))
    return tuple(dict.fromkeys(found))


def _test_functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """(name as pytest shows it after the module, node) of every test, in file order: functions
    named `test*`, and `test*` methods of classes named `Test*`."""
    for node in tree.body:
        if isinstance(node, FUNCTIONS) and node.name.startswith("test"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for member in node.body:
                if isinstance(member, FUNCTIONS) and member.name.startswith("test"):
                    yield f"{node.name}::{member.name}", member


def scenarios_in_source(source: str, module: str) -> list[Scenario]:
    """The rows of one suite module, from its source text."""
    rows = []
    for name, node in _test_functions(ast.parse(source)):
        assert isinstance(node, FUNCTIONS)
        docstring = ast.get_docstring(node) or ""
        rows.append(
            Scenario(
                module=module,
                function=name,
                line=node.lineno,
                scenario=first_paragraph(docstring),
                clauses=clause_citations(docstring),
                has_docstring=bool(docstring.strip()),
            )
        )
    return rows


def collect(suites: Path = SUITES) -> list[Scenario]:
    """Every suite test: modules in sorted file-name order, tests in file order."""
    return [
        row
        for path in sorted(suites.glob("test_*.py"))
        for row in scenarios_in_source(path.read_text(encoding="utf-8"), path.stem)
    ]


def problems(scenarios: Sequence[Scenario], suites: Path = SUITES) -> list[str]:
    """One line per test the table cannot describe: no docstring, or no clause cited."""
    found = []
    for row in scenarios:
        where = f"{suites.name}/{row.module}.py:{row.line}: {row.function}"
        if not row.has_docstring:
            found.append(f"{where} has no docstring")
        elif not row.clauses:
            found.append(f"{where} cites no contract clause (§…) in its docstring")
    return found


def escape_cell(text: str) -> str:
    """Text safe inside a markdown table cell: `|` escaped everywhere (code spans too, as GitHub
    requires); outside code spans also `\\`, `*` and `<` (which would start emphasis or an HTML
    tag)."""
    parts = []
    position = 0
    for match in CODE_SPAN.finditer(text):
        parts.append(_escape_prose(text[position : match.start()]))
        parts.append(match[0].replace("|", "\\|"))
        position = match.end()
    parts.append(_escape_prose(text[position:]))
    return "".join(parts)


def _escape_prose(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
    return text.replace("<", "&lt;")


def render_table(scenarios: Sequence[Scenario]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in scenarios:
        cells = (
            f"`{row.name}`",
            escape_cell(row.scenario) or "**no docstring**",
            escape_cell(", ".join(row.clauses)) or "**none cited**",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_block(scenarios: Sequence[Scenario]) -> str:
    """What goes between the markers (without them)."""
    return f"{NOTICE}\n\n{render_table(scenarios)}"


class PageError(ValueError):
    pass


def _bounds(page: str) -> tuple[int, int]:
    if page.count(BEGIN) != 1 or page.count(END) != 1:
        raise PageError(f"the page needs exactly one {BEGIN} and one {END} line")
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    if end < start:
        raise PageError(f"{END} comes before {BEGIN}")
    return start, end


def current_block(page: str) -> str:
    """The text between the markers, without the blank lines around it."""
    start, end = _bounds(page)
    return page[start:end].strip("\n")


def with_block(page: str, block: str) -> str:
    start, end = _bounds(page)
    return f"{page[:start]}\n{block}\n{page[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.docs.scenarios",
        description="The scenario table of docs/scenarios.md, from the suites' docstrings.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the block in the page")
    mode.add_argument("--check", action="store_true", help="exit 1 when the block is stale")
    args = parser.parse_args(argv)

    scenarios = collect()
    block = render_block(scenarios)
    for problem in problems(scenarios):
        print(f"warning: {problem}", file=sys.stderr)
    if not (args.write or args.check):
        print(block)
        return 0
    page = PAGE.read_text(encoding="utf-8")
    try:
        stale = current_block(page) != block
    except PageError as error:
        print(f"{PAGE.relative_to(ROOT)}: {error}", file=sys.stderr)
        return 1
    if args.check:
        if stale:
            print(f"{PAGE.relative_to(ROOT)} is stale; run: {WRITE_COMMAND}", file=sys.stderr)
        return int(stale)
    if stale:
        PAGE.write_text(with_block(page, block), encoding="utf-8")
    outcome = "rewritten" if stale else "unchanged"
    print(f"{PAGE.relative_to(ROOT)}: {len(scenarios)} tests, {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
