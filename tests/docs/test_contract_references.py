"""Every clause citation (`§…`) in the project resolves to a clause of `docs/contract.md`.

The contract page defines addresses: `N` (`## N. Title`), `N.M` (`### N.M Title`), `N.M step K`
(a numbered list `K. …` at column 0 under a heading) and `N.M row K` (a table whose first header
cell is `#`, its rows numbered 1, 2, … in that column). Numbering must be consecutive, so a
dropped heading, step or row is a parse error rather than a silent shift.

Citation grammar (anything else after a `§N[.M]` that looks like an address is refused, with
the form to write instead):

    §N   §N.M   §N.M step K   §N.M row K   §N.M rows K and L   §N.M rows K, L and M
    §N.M–N.P   §N.M-N.P   (a range of subsections of one section, en dash or hyphen)

A `§` followed by a letter (`§N` as a placeholder in prose) is not a citation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "contract.md"

# Directories never read: tooling, caches, run output and generated code.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    ".harness",
    "results",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".import_linter_cache",
    "build",
    "dist",
    "node_modules",
}
SKIPPED_PATHS = ("harness/contract/wire/gen",)
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".sh", ".cfg", ".ini", ".json"}
# The project's own tests are not scanned for citations (they quote odd forms on purpose).
CITATION_SKIPPED_DIRS = ("tests",)

GRAMMAR = "§N, §N.M, §N.M step K, §N.M row K, §N.M rows K and L, or §N.M–N.P"


# --- the contract's addresses --------------------------------------------------------------


class ContractFormatError(ValueError):
    pass


SECTION_HEADING = re.compile(r"^## (\d+)\. \S")
SUBSECTION_HEADING = re.compile(r"^### (\d+)\.(\d+) \S")
ANY_HEADING = re.compile(r"^#{2,} ")
NUMBERED_ITEM = re.compile(r"^(\d+)\. \S")
TABLE_SEPARATOR = re.compile(r"^\|[\s|:-]+\|\s*$")


def parse_contract(text: str) -> dict[str, str]:
    """Map every address the page defines to its line (heading, step or table row).

    Raises ContractFormatError on an unnumbered `##`/`###` heading, a heading out of sequence,
    a numbered step or `#` row out of sequence, a second numbered list or `#` table under one
    heading, or numbered content before the first section.
    """
    clauses: dict[str, str] = {}
    section = 0
    subsection = 0
    current: str | None = None
    next_step = 1
    next_row: int | None = None  # inside a `#` table: the row number expected next
    in_table = False
    numbered_table_seen = False
    in_fence = False

    def fail(lineno: int, why: str) -> ContractFormatError:
        return ContractFormatError(f"line {lineno}: {why}")

    def define(lineno: int, address: str, line: str) -> None:
        if address in clauses:
            raise fail(lineno, f"{address} is defined twice")
        clauses[address] = line

    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if in_table and not line.startswith("|"):
            in_table, next_row = False, None

        if ANY_HEADING.match(line):
            if match := SECTION_HEADING.match(line):
                number = int(match[1])
                if number != section + 1:
                    raise fail(lineno, f"section {number} follows section {section}")
                section, subsection, current = number, 0, str(number)
            elif match := SUBSECTION_HEADING.match(line):
                number, sub = int(match[1]), int(match[2])
                if number != section or sub != subsection + 1:
                    raise fail(lineno, f"{number}.{sub} follows {section}.{subsection}")
                subsection, current = sub, f"{number}.{sub}"
            else:
                raise fail(lineno, f"heading without a clause number: {line!r}")
            define(lineno, current, line)
            next_step, numbered_table_seen = 1, False
            continue

        if match := NUMBERED_ITEM.match(line):
            step = int(match[1])
            if current is None:
                raise fail(lineno, "numbered list before the first section")
            if step != next_step:
                raise fail(
                    lineno,
                    f"{current} step {step} where step {next_step} was expected "
                    "(steps count 1, 2, … and one numbered list per heading)",
                )
            define(lineno, f"{current} step {step}", line)
            next_step += 1
            continue

        if line.startswith("|"):
            first_cell = line[1:].split("|", 1)[0].strip()
            if not in_table:  # a header row
                in_table = True
                if first_cell == "#":
                    if current is None:
                        raise fail(lineno, "numbered table before the first section")
                    if numbered_table_seen:
                        raise fail(lineno, f"a second numbered table under {current}")
                    numbered_table_seen, next_row = True, 1
            elif next_row is not None and not TABLE_SEPARATOR.match(line):
                if first_cell != str(next_row):
                    raise fail(
                        lineno,
                        f"row {first_cell!r} of the numbered table under {current} "
                        f"where {next_row} was expected",
                    )
                define(lineno, f"{current} row {next_row}", line)
                next_row += 1
    if in_fence:
        raise ContractFormatError("unclosed code fence")
    return clauses


def rows_of(clauses: dict[str, str], address: str) -> list[int]:
    prefix = f"{address} row "
    return sorted(int(key[len(prefix) :]) for key in clauses if key.startswith(prefix))


# --- citations --------------------------------------------------------------------------------

CANONICAL = re.compile(
    r"§(?P<n>\d+)(?:\.(?P<m>\d+))?"
    r"(?:(?P<range>[–-](?P<n2>\d+)\.(?P<m2>\d+))"
    r"|\s+(?P<one>step|row)\s+(?P<k>\d+)\b"
    r"|\s+(?P<many>steps|rows)\s+(?P<ks>\d+(?:,\s*\d+)*\s+and\s+\d+)\b)?"
)
# What, right after a canonical citation, shows that the writer meant something longer.
SUSPECT_TAIL = re.compile(
    r"\s*[–-]\s*§|[–-]\d|\.\d|,\s*\d|,?\s+(?:and|or)\s+\d"
    r"|\s+(?:steps?|rows?)\b(?=\s*(?:\d|\"|$))"  # "the §7.2–7.4 steps, …" is prose
    r"|\s+(?:tables?|last|first|items?|lines?|bullets?|paragraphs?)\b",
    re.MULTILINE,
)
SPACED_SIGN = re.compile(r"§\s+\d")
RANGE_OF_CITATIONS = re.compile(r"\s*[–-]\s*§\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Citation:
    path: str
    line: int
    text: str  # as written, whitespace collapsed
    addresses: tuple[str, ...]  # what it cites; empty when `problem` is set
    problem: str | None = None  # why it is not canonical, and what to write instead

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _numbers(text: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", text)]


def _listed(kind: str, numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"{kind} {numbers[0]}"
    head = ", ".join(str(number) for number in numbers[:-1])
    return f"{kind}s {head} and {numbers[-1]}"


def _advice(base: str, tail: str, clauses: dict[str, str]) -> str:
    """What to write instead of `§<base><tail…>` (tail: the text after the canonical part)."""
    if match := re.match(r"\s*[–-]\s*§(\d+(?:\.\d+)?)", tail):
        if "." in base and match[1].partition(".")[0] == base.partition(".")[0]:
            return f"write §{base}–{match[1]} (no § after the dash)"
        return "a range joins subsections of one section (§N.M–N.P); cite sections one by one"
    if re.match(r"\s+last\s+(?:row|step)\b", tail):
        rows = rows_of(clauses, base)
        last = f"§{base} row {rows[-1]}" if rows else f"§{base} row K"
        return f"write {last} (numbers, not positions)"
    if match := re.match(r"\s+row\s+\"([^\"]+)\"", tail):
        phrase = match[1].lower()
        found = [k for k in rows_of(clauses, base) if phrase in clauses[f"{base} row {k}"].lower()]
        target = f"§{base} row {found[0]}" if len(found) == 1 else f"§{base} row K"
        return f"write {target} (rows are cited by number)"
    if match := re.match(r"\s+(step|row)s?\s*\"\s*\n\s*[rbuf]*\"(\d+)", tail):
        return (
            f"write §{base} {match[1]} {match[2]} inside one string literal "
            "(the citation is split across lines)"
        )
    if match := re.match(r"\s+(step|row)s?\s+(\d+(?:\s*,\s*\d+)*)", tail):
        return f"write §{base} {_listed(match[1], _numbers(match[2]))}"
    if match := re.match(r"\s+(step|row)s?\b", tail):
        return f"write §{base} {match[1]} K: the number is missing"
    if re.match(r"\s+tables?\b", tail):
        return "cite the subsection that holds the table (§N.M), or its row (§N.M row K)"
    return f"not in the citation grammar; write {GRAMMAR}"


def find_citations(text: str, path: str, clauses: dict[str, str]) -> list[Citation]:
    """Every `§` citation in `text`, expanded to addresses, or with the problem it has."""
    found: list[Citation] = []

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for match in SPACED_SIGN.finditer(text):
        found.append(
            Citation(
                path,
                line_of(match.start()),
                _collapse(match[0]),
                (),
                "no space after §; write " + GRAMMAR,
            )
        )
    consumed = 0  # a refused `§A–§B` also covers its `§B`
    for match in CANONICAL.finditer(text):
        if match.start() < consumed:
            continue
        n, m = match["n"], match["m"]
        base = f"{n}.{m}" if m else n
        written = _collapse(match[0])
        line = line_of(match.start())
        tail = text[match.end() : match.end() + 80]
        if SUSPECT_TAIL.match(tail):
            if second := RANGE_OF_CITATIONS.match(tail):
                consumed = match.end() + second.end()
                tail = tail[: second.end()]
            shown = _collapse(match[0] + tail.split("\n", 1)[0])[:60]
            found.append(Citation(path, line, shown, (), _advice(base, tail, clauses)))
            continue
        if match["range"]:
            n2, m2 = match["n2"], int(match["m2"])
            if m is None or n2 != n or m2 <= int(m):
                problem = f"a range joins subsections of one section, upwards; write {GRAMMAR}"
                found.append(Citation(path, line, written, (), problem))
                continue
            addresses = tuple(f"{n}.{sub}" for sub in range(int(m), m2 + 1))
        elif match["one"]:
            addresses = (f"{base} {match['one']} {match['k']}",)
        elif match["many"]:
            kind = match["many"][:-1]
            numbers = _numbers(match["ks"])
            if len(set(numbers)) != len(numbers):
                problem = f"a number is repeated; write §{base} {_listed(kind, numbers)}"
                found.append(Citation(path, line, written, (), problem))
                continue
            addresses = tuple(f"{base} {kind} {number}" for number in numbers)
        else:
            addresses = (base,)
        found.append(Citation(path, line, written, addresses))
    return sorted(found, key=lambda citation: citation.line)


def unresolved(citations: list[Citation], clauses: dict[str, str]) -> list[str]:
    """One line per citation that is not canonical or names an address the page lacks."""
    problems = []
    for citation in citations:
        if citation.problem:
            problems.append(f"{citation.where()}  ->  {citation.problem}")
            continue
        missing = [address for address in citation.addresses if address not in clauses]
        if missing:
            names = ", ".join(f"§{address}" for address in missing)
            problems.append(f"{citation.where()}  ->  {names} not in docs/contract.md")
    return problems


# --- files ------------------------------------------------------------------------------------


def project_text_files(skip_dirs: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every text file of the checkout, tooling and caches excluded."""
    for directory, subdirs, files in os.walk(ROOT):
        relative_dir = Path(directory).relative_to(ROOT).as_posix()
        subdirs[:] = sorted(
            name
            for name in subdirs
            if name not in SKIPPED_DIRS
            and not name.endswith(".egg-info")
            and _relative(relative_dir, name) not in SKIPPED_PATHS
            and _relative(relative_dir, name) not in skip_dirs
        )
        for name in sorted(files):
            if Path(name).suffix not in TEXT_SUFFIXES:
                continue
            data = (Path(directory) / name).read_bytes()
            if b"\0" in data:
                continue
            yield _relative(relative_dir, name), data.decode("utf-8", errors="replace")


def _relative(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


@pytest.fixture(scope="module")
def clauses() -> dict[str, str]:
    return parse_contract(CONTRACT.read_text(encoding="utf-8"))


# --- the tests --------------------------------------------------------------------------------


def test_every_citation_resolves_to_a_clause_of_the_contract(clauses):
    citations = [
        citation
        for path, text in project_text_files(skip_dirs=CITATION_SKIPPED_DIRS)
        for citation in find_citations(text, path, clauses)
    ]
    assert len(citations) > 50, f"suspiciously few citations found: {len(citations)}"
    problems = unresolved(citations, clauses)
    assert not problems, (
        f"{len(problems)} clause citation(s) do not resolve against docs/contract.md "
        f"(grammar: {GRAMMAR}):\n" + "\n".join(problems)
    )


# Clauses the suites and the code rely on, pinned so that an edit of the page that drops or
# reorders one of them fails here even when no citation names it today.
PINNED = {
    "7.1 step 1": "finalizer",
    "7.1 step 3": "tenant",
    "7.2 step 1": "No `spec.restartRequestedAt`",
    "7.2 step 2": "completion check",
    "7.2 step 3": "not strictly later",
    "7.2 step 4": "Any other case",
    "7.3 row 1": "No VirtualMachine reference found",
    "7.3 row 2": "Waiting for VMI to be created (restart requested at <RFC3339>)",
    "7.3 row 3": "other way",
    "7.3 row 4": "Failed to delete VMI: <error>",
    "7.3 row 5": "Restart initiated at <RFC3339>",
    "7.6 row 1": "request ≈ now",
    "7.6 row 2": "in the past",
    "7.6 row 3": "request ≤ `lastRestartedAt`",
    "7.6 row 4": "in the future",
    "7.6 row 5": "while `RestartInProgress` is True",
    "7.6 row 6": "no VM yet",
    "7.6 row 7": "`Halted`",
    "7.6 row 8": "VMI delete rejected",
    "7.6 row 9": "CR deleted during a restart",
    "7.6 row 10": "operator crash",
    "7.6 row 11": "`management-state: unmanaged`",
    "7.6 row 12": "fraction patched straight into the CR",
    "7.6 row 13": "request withdrawn",
    "7.7": "What a restart leaves alone",
    "9.1": "Client create",
    "9.2": "Fulfillment controller",
    "9.3": "Operator",
    "9.4": "EDA",
    "9.5": "Deletion",
    "11.4": "field-mask",
    "11.5": "TLS",
    "15.2": "template",
}


def test_the_contract_keeps_the_clauses_the_code_relies_on(clauses):
    assert [key for key in clauses if key.isdigit()] == [str(n) for n in range(1, 16)]
    assert rows_of(clauses, "7.3") == [1, 2, 3, 4, 5]
    assert rows_of(clauses, "7.6") == list(range(1, 14))
    assert [key for key in clauses if key.startswith("7.2 step ")] == [
        f"7.2 step {k}" for k in (1, 2, 3, 4)
    ]
    misplaced = [
        f"§{address}: expected {phrase!r} in {clauses.get(address)!r}"
        for address, phrase in PINNED.items()
        if phrase not in clauses.get(address, "")
    ]
    assert not misplaced, "clauses moved or reworded:\n" + "\n".join(misplaced)


# Built from pieces so that this file does not contain what it looks for.
FORBIDDEN_MENTIONS = (".." + "/shared", "shared" + "/docs")


def test_no_file_points_at_the_shared_source_documents():
    hits = [
        f"{path}:{lineno}: {line.strip()[:100]}"
        for path, text in project_text_files()
        for lineno, line in enumerate(text.splitlines(), start=1)
        if any(needle in line for needle in FORBIDDEN_MENTIONS)
    ]
    assert not hits, (
        "these lines point at documents users of the repository do not have; cite "
        "docs/contract.md (or say it in the project's own words) instead:\n" + "\n".join(hits)
    )


# --- the parser and the extractor on small samples -----------------------------------------

SAMPLE = """\
# Title

Preamble text; `§N.M` is a placeholder, not a citation.

## 1. First

### 1.1 Steps

1. Do this.
   Continued line, not a step.
2. Then that.

### 1.2 Table

| # | situation | outcome |
|---|---|---|
| 1 | a | b |
| 2 | c | d |

| plain | table |
|---|---|
| x | y |

## 2. Second

```
## not a heading
1. not a step
```
"""


def test_parser_reads_headings_steps_and_numbered_rows():
    assert parse_contract(SAMPLE) == {
        "1": "## 1. First",
        "1.1": "### 1.1 Steps",
        "1.1 step 1": "1. Do this.",
        "1.1 step 2": "2. Then that.",
        "1.2": "### 1.2 Table",
        "1.2 row 1": "| 1 | a | b |",
        "1.2 row 2": "| 2 | c | d |",
        "2": "## 2. Second",
    }


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        pytest.param(SAMPLE.replace("| 1 | a | b |\n", ""), "where 1 was expected", id="row-1"),
        pytest.param(SAMPLE.replace("| 2 | c", "| 3 | c"), "where 2 was expected", id="gap"),
        pytest.param(SAMPLE.replace("| 2 | c", "| two | c"), "where 2 was expected", id="word"),
        pytest.param(SAMPLE.replace("2. Then", "3. Then"), "step 2 was expected", id="step"),
        pytest.param(SAMPLE.replace("### 1.2", "### 1.3"), "1.3 follows 1.1", id="sub-gap"),
        pytest.param(SAMPLE.replace("### 1.2", "### 2.2"), "2.2 follows 1.1", id="sub-out"),
        pytest.param(SAMPLE.replace("## 2.", "## 3."), "section 3 follows", id="section"),
        pytest.param(SAMPLE.replace("### 1.2 Table", "### Table"), "without", id="unnumbered"),
        pytest.param(
            SAMPLE.replace("### 1.2", "Text.\n\n1. again\n\n### 1.2"),
            "step 1 where",
            id="second-list",
        ),
        pytest.param(
            SAMPLE.replace("| plain | table |", "| # | again |").replace("| x |", "| 1 |"),
            "second numbered table",
            id="second-table",
        ),
        pytest.param("1. first\n", "before the first section", id="preamble-list"),
        pytest.param(SAMPLE + "```\n", "unclosed", id="fence"),
    ],
)
def test_parser_refuses_a_malformed_page(broken, complaint):
    with pytest.raises(ContractFormatError, match=re.escape(complaint)):
        parse_contract(broken)


SAMPLE_CLAUSES = parse_contract(SAMPLE)


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("see §1 and §2.", [("1",), ("2",)]),
        ("(contract §1.2: a rule)", [("1.2",)]),
        ("§1.1 step 2, §1.2 row 1", [("1.1 step 2",), ("1.2 row 1",)]),
        ("§1.2 rows 1 and 2", [("1.2 row 1", "1.2 row 2")]),
        ("§1.1 steps 1, 2 and 3", [("1.1 step 1", "1.1 step 2", "1.1 step 3")]),
        ("§1.1–1.2 and §1.1-1.2", [("1.1", "1.2"), ("1.1", "1.2")]),
        ("§1.1/§1.2 — both", [("1.1",), ("1.2",)]),
        ("holds the §1.1–1.2 steps, and more", [("1.1", "1.2")]),
        ("a docstring §1.2\n    rows 1 and 2, wrapped", [("1.2 row 1", "1.2 row 2")]),
        ("placeholders `§N.M row K` are prose", []),
    ],
)
def test_extractor_expands_canonical_citations(text, addresses):
    citations = find_citations(text, "x.py", SAMPLE_CLAUSES)
    assert [citation.problem for citation in citations] == [None] * len(addresses)
    assert [citation.addresses for citation in citations] == addresses


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("§1.2 last row", "write §1.2 row 2"),
        ('§1.2 row "C"', "write §1.2 row 2"),
        ("§1.2 rows 1, 2)", "write §1.2 rows 1 and 2"),
        ("§1.2 rows 1", "write §1.2 row 1"),
        ("§1.1–§1.2", "write §1.1–1.2"),
        ('f"(§1.1 step "\n    "2: why)"', "write §1.1 step 2 inside one string literal"),
        ("§1 table", "cite the subsection that holds the table"),
        ("§1.1 first step", "not in the citation grammar"),
        ("§1.2 row 1 and 2", "not in the citation grammar"),
        ("§ 1.2", "no space after §"),
        ("§1.2–1.1", "upwards"),
        ("§1.2 rows 2 and 2", "repeated"),
    ],
)
def test_extractor_refuses_other_forms_and_names_the_canonical_one(text, advice):
    [citation] = find_citations(text, "x.py", SAMPLE_CLAUSES)
    assert citation.addresses == ()
    assert citation.problem and advice in citation.problem, citation


def test_unresolved_reports_file_and_line_of_a_missing_clause():
    citations = find_citations("one\ntwo §1.2 row 3 and §9\n", "suites/x.py", SAMPLE_CLAUSES)
    assert unresolved(citations, SAMPLE_CLAUSES) == [
        "suites/x.py:2: §1.2 row 3  ->  §1.2 row 3 not in docs/contract.md",
        "suites/x.py:2: §9  ->  §9 not in docs/contract.md",
    ]
