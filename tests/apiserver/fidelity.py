"""The differential table of docs/embedded-stack.md: each Kubernetes semantic the checks under
`tests/apiserver/` hold, as the embedded server and a real kube-apiserver answer it.

    python -m tests.apiserver.fidelity            run the checks on both servers, print the table
    python -m tests.apiserver.fidelity --write    run them and rewrite the table in the page
    python -m tests.apiserver.fidelity --check    exit 1 when the page's table is not what the
                                                  checks' markers say (collection only, no run)

One row per check that runs against both servers (a check parametrized otherwise is one row).
A check states the real server's behaviour; a check marked `gap` is a measured difference, pinned:
it must fail on the embedded server (strict xfail) and pass on the real one. A run where a check
ends otherwise changes the row, so the table says what the run saw, not what was hoped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "embedded-stack.md"
BEGIN = "<!-- fidelity:begin -->"
END = "<!-- fidelity:end -->"
RECORD = "FIDELITY_RECORD"
PLUGIN = "tests.apiserver.fidelity"
KINDS = ("embedded", "real")
ID = re.compile(r"^(?P<base>[^\[]+)\[(?P<params>.*)\]$")


# --- the pytest plugin (`-p tests.apiserver.fidelity`) ----------------------------------------


def _base(nodeid: str) -> tuple[str, str] | None:
    """(check, server kind) of a node id parametrized by server, else None."""
    match = ID.match(nodeid)
    if match is None:
        return None
    params = match["params"].split("-")
    kinds = [p for p in params if p in KINDS]
    if len(kinds) != 1:
        return None
    rest = "-".join(p for p in params if p not in KINDS)
    base = match["base"] + (f"[{rest}]" if rest else "")
    return base.removeprefix("tests/apiserver/"), kinds[0]


def _semantic(item: pytest.Item) -> str:
    function = getattr(item, "function", None)
    doc = (getattr(function, "__doc__", None) or "").strip()
    if doc:
        return " ".join(doc.split("\n\n")[0].split())
    return item.originalname.removeprefix("test_").replace("_", " ")  # type: ignore[attr-defined]


_checks: dict[str, dict[str, Any]] = {}
_outcomes: dict[str, dict[str, str]] = defaultdict(dict)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parsed = _base(item.nodeid)
        if parsed is None:
            continue
        gap = item.get_closest_marker("gap")
        _checks[parsed[0]] = {"semantic": _semantic(item), "gap": gap.args[0] if gap else None}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    parsed = _base(report.nodeid)
    if parsed is None:
        return
    check, kind = parsed
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        if _outcomes[check].get(kind) in (None, "passed"):
            _outcomes[check][kind] = outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Each process writes what it saw: xdist workers collect, the controller sees outcomes."""
    target = os.environ.get(RECORD)
    if target:
        worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
        record = {"checks": _checks, "outcomes": _outcomes}
        Path(target, f"{worker}.json").write_text(json.dumps(record))


# --- the table ------------------------------------------------------------------------------


def expected_outcomes(checks: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """What a green run records: every check passes on the real server; a gap fails, strictly,
    on the embedded one."""
    return {
        check: {"embedded": "xfailed" if entry["gap"] else "passed", "real": "passed"}
        for check, entry in checks.items()
    }


def _cell(outcome: str | None, gap: str | None) -> str:
    if outcome == "passed":
        return "holds"
    if outcome == "xfailed":
        return f"differs: {gap}"
    return outcome or "not run"


AGREES = "—"
PINNED = "pinned: strict xfail on the embedded server"


def _action(entry: dict[str, Any], seen: dict[str, str]) -> str:
    embedded, real = seen.get("embedded"), seen.get("real")
    if embedded == real == "passed" and not entry["gap"]:
        return AGREES
    if entry["gap"] and embedded == "xfailed" and real == "passed":
        return PINNED
    return "**unexpected: investigate**"


def render(record: dict[str, Any]) -> str:
    checks, outcomes = record["checks"], record["outcomes"]
    actions = {check: _action(checks[check], outcomes.get(check, {})) for check in checks}
    agree = sum(1 for action in actions.values() if action == AGREES)
    pinned = sum(1 for action in actions.values() if action == PINNED)
    summary = f"{agree} of {len(checks)} semantics agree; {pinned} differ and are pinned"
    unexpected = len(checks) - agree - pinned
    if unexpected:
        summary += f"; {unexpected} did not end as their checks say"
    lines = [
        "<!-- Written by `python -m tests.apiserver.fidelity --write` from a run of "
        "tests/apiserver on both servers; `--check` keeps it in step with the checks. -->",
        "",
        summary + ".",
        "",
        "| semantic | check | embedded | real | action |",
        "|---|---|---|---|---|",
    ]
    for check in sorted(checks):
        entry, seen = checks[check], outcomes.get(check, {})
        embedded, real = seen.get("embedded"), seen.get("real")
        row = [entry["semantic"], f"`{check}`", _cell(embedded, entry["gap"]), _cell(real, None)]
        cells = [cell.replace("|", "\\|") for cell in [*row, actions[check]]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pytest(args: list[str], quiet: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, **{RECORD: scratch})
        env.pop("APISERVER_CONTRACT_KUBECONFIG", None)
        command = [sys.executable, "-m", "pytest", "tests/apiserver", "-p", PLUGIN, "-q", *args]
        output = subprocess.DEVNULL if quiet else None
        completed = subprocess.run(command, cwd=ROOT, env=env, stdout=output, check=False)
        merged: dict[str, Any] = {"checks": {}, "outcomes": {}}
        for part in sorted(Path(scratch).glob("*.json")):
            record = json.loads(part.read_text())
            merged["checks"].update(record["checks"])
            for check, seen in record["outcomes"].items():
                merged["outcomes"].setdefault(check, {}).update(seen)
        if not merged["checks"]:
            raise SystemExit(f"fidelity: pytest recorded no checks (exit {completed.returncode})")
        return merged


def collect() -> dict[str, Any]:
    record = _pytest(["--collect-only", "-p", "no:xdist"], quiet=True)
    record["outcomes"] = expected_outcomes(record["checks"])
    return record


def page_table(page: Path = PAGE) -> str:
    text = page.read_text()
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()


def write(table: str, page: Path = PAGE) -> None:
    text = page.read_text()
    head, tail = text[: text.index(BEGIN) + len(BEGIN)], text[text.index(END) :]
    page.write_text(f"{head}\n{table}\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.apiserver.fidelity")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        if page_table() != render(collect()):
            print(f"fidelity: {PAGE} is stale: python -m tests.apiserver.fidelity --write")
            return 1
        return 0
    table = render(_pytest(["-n", "3"]))
    if args.write:
        write(table)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
