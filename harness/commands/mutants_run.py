"""`python -m harness mutants`: run the suites against the unmutated controller and every mutant.

Each controller gets its own embedded stack (`harness up --controller reference|mutant:NAME`,
through `harness.reference.stack.launch`) and its own `pytest suites --target cluster` child
process with exactly the stack's env file as settings and a JUnit XML report; several run at
once (`--jobs`). The gallery — names, deviations, the test meant to kill each — comes from the
controller itself (`python -m harness.reference.controller --list-mutants`, a child process), so
the client side imports nothing of the reference package but `stack`. `--tests intended` runs
each mutant against its intended test only (and the unmutated controller against all of those):
the fast form CI uses. The kill matrix is `kill_matrix.py`.

Exit codes: 0 every mutant killed by its intended test and the unmutated controller passed;
1 a mutant survived or was not killed by its intended test, or the unmutated controller failed a
test; 3 a run could not be carried out (a stack did not start, pytest crashed or timed out);
4 bad input. A mutant no test killed while its intended test was skipped in this profile or
mode (e.g. `halted-fails` under `--profile cloudkit`, which has no Halted VM) is reported as
"not judged" and does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.commands import argtypes
from harness.commands.kill_matrix import (
    REFERENCE,
    MutantInfo,
    Row,
    exit_code,
    parse_junit,
    render,
    summary,
)
from harness.contract.profiles import DEFAULT_PROFILE, PROFILES
from harness.exitcodes import ExitCode

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "suites"
RUN_TIMEOUT = 900.0


class BadInput(ValueError):
    """Bad option value: one line, exit code 4."""


@dataclass(frozen=True)
class RunOptions:
    """What every controller's run shares; `main` fills every field from the flags of
    `harness mutants` (`add_arguments`), whose defaults are given here."""

    profile: str
    """Naming era of each stack and run. `--profile` (default `osac`)."""

    via: str
    """How the suites request restarts: `api` (the fulfillment API) or `cr` (patching the CR).
    `--via` (default `api`); passed on to pytest as `--via`."""

    state_dir: Path
    """Parent of one fresh sub-directory per controller (its stack's files and logs, pytest's
    output and JUnit report). `--state-dir` (default `.harness/mutants`)."""

    restart_timeout: float
    """Seconds a test waits for a restart to complete. `--restart-timeout` (default 20);
    passed on to pytest."""

    provision_timeout: float
    """Seconds a test waits for a new instance to run. `--provision-timeout` (default 20);
    passed on to pytest."""

    quiet_window: float
    """Seconds a negative test watches for a restart that must not happen.
    `--quiet-window` (default 2); passed on to pytest."""

    workers: int = 1
    """pytest-xdist workers per run; 1 runs without xdist. Default 1. `--workers`."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    parser.add_argument("--via", choices=("api", "cr"), default="api")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this mutant (repeatable); the unmutated controller always runs",
    )
    parser.add_argument(
        "--tests",
        choices=("all", "intended"),
        default="all",
        help="all: the whole suite against every controller (default); intended: each mutant "
        "only against the test its docstring names, the unmutated controller against all of "
        "those (the fast run CI uses)",
    )
    parser.add_argument(
        "--jobs", type=argtypes.positive_int, default=os.cpu_count() or 1, help="stacks run at once"
    )
    parser.add_argument(
        "--workers",
        type=argtypes.positive_int,
        default=1,
        help="pytest-xdist workers per run (-n); 1: no xdist",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the matrix as JSON")
    parser.add_argument(
        "--state-dir",
        type=argtypes.directory,
        default=Path(".harness/mutants"),
        help="one sub-directory per run: the stack's files and logs, pytest's output and report",
    )
    parser.add_argument("--restart-timeout", type=argtypes.positive_seconds, default=20.0)
    parser.add_argument("--provision-timeout", type=argtypes.positive_seconds, default=20.0)
    parser.add_argument("--quiet-window", type=argtypes.positive_seconds, default=2.0)


def load_gallery() -> list[MutantInfo]:
    """The controller's own description of its mutants (a child process, not an import)."""
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.controller", "--list-mutants"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the controller could not list its mutants: {result.stderr.strip()}")
    return [MutantInfo(**entry) for entry in json.loads(result.stdout)]


def select(gallery: list[MutantInfo], only: list[str]) -> list[MutantInfo]:
    known = {info.name: info for info in gallery}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise BadInput(f"--only {unknown[0]}: unknown mutant; known: {', '.join(sorted(known))}")
    return [known[name] for name in dict.fromkeys(only)] if only else gallery


def _child_env(stack_env: dict[str, str]) -> dict[str, str]:
    """This process's environment without harness settings, plus exactly the stack's."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HARNESS_") and key != "KUBECONFIG"
    }
    return {**clean, **stack_env}


def tests_for(info: MutantInfo | None, mutants: list[MutantInfo], scope: str) -> list[str]:
    """What one controller runs: the suites, or (`intended`) the intended killers only — its
    own for a mutant, all of the selected mutants' for the unmutated controller."""
    if scope == "all":
        return ["suites"]
    if info is not None:
        return [info.killed_by]
    return sorted({mutant.killed_by for mutant in mutants})


def run_one(info: MutantInfo | None, options: RunOptions, tests: list[str]) -> Row:
    """One controller: its own stack, the given tests against it, the report read back."""
    from harness.reference.stack import StackError, StackOptions, launch

    name = info.name if info else REFERENCE
    row = Row(name, info)
    state = (options.state_dir / name).resolve()
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    started = time.monotonic()
    controller = f"mutant:{name}" if info else "reference"
    stack = launch(
        StackOptions(state_dir=state / "stack", profile=options.profile, controller=controller)
    )
    try:
        try:
            env = stack.start()
        except StackError as error:
            row.error = f"the stack did not start: {error}"
            return row
        report = state / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *tests,
            "-p",
            "no:cacheprovider",
            "-q",
            "--target",
            "cluster",
            "--via",
            options.via,
            "--restart-timeout",
            str(options.restart_timeout),
            "--provision-timeout",
            str(options.provision_timeout),
            "--quiet-window",
            str(options.quiet_window),
            f"--junitxml={report}",
            *(["-n", str(options.workers)] if options.workers > 1 else []),
        ]
        with (state / "pytest.log").open("w") as log:
            try:
                result = subprocess.run(
                    command,
                    env=_child_env(env),
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=RUN_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                row.error = f"pytest did not finish within {RUN_TIMEOUT:.0f} s (see {log.name})"
                return row
        if result.returncode not in (ExitCode.PASSED, ExitCode.TESTS_FAILED):
            row.error = (
                f"pytest exited {result.returncode}, not a verdict; see {state / 'pytest.log'}"
            )
        if report.is_file():
            row.outcomes = parse_junit(report)
        elif not row.error:
            row.error = f"pytest wrote no report; see {state / 'pytest.log'}"
        return row
    finally:
        stack.stop()
        row.seconds = time.monotonic() - started


def run_all(
    mutants: list[MutantInfo],
    options: RunOptions,
    jobs: int,
    scope: str = "all",
    progress: Callable[[Row], None] = lambda _row: None,
) -> list[Row]:
    """The reference and every mutant, `jobs` at a time; rows in gallery order."""
    controllers: list[MutantInfo | None] = [None, *mutants]

    def run(info: MutantInfo | None) -> Row:
        try:
            row = run_one(info, options, tests_for(info, mutants, scope))
        except Exception as error:  # one broken run must not hide the others' verdicts
            row = Row(
                info.name if info else REFERENCE, info, error=f"{type(error).__name__}: {error}"
            )
        progress(row)
        return row

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, controllers))


def main(args: argparse.Namespace, out: Callable[[str], None], err: Callable[[str], None]) -> int:
    if not SUITES.is_dir():
        raise BadInput(f"no suites directory at {SUITES}: run from a checkout of the harness")
    if args.json is not None and not args.json.parent.is_dir():
        raise BadInput(f"--json {args.json}: directory {args.json.parent} does not exist")
    gallery = load_gallery()
    mutants = select(gallery, args.only)
    options = RunOptions(
        profile=args.profile,
        via=args.via,
        state_dir=args.state_dir,
        restart_timeout=args.restart_timeout,
        provision_timeout=args.provision_timeout,
        quiet_window=args.quiet_window,
        workers=args.workers,
    )
    started = time.monotonic()
    err(
        f"harness mutants: {len(mutants)} mutants + the unmutated controller, profile "
        f"{args.profile}, via {args.via}, tests: {args.tests}, {args.jobs} at a time"
    )
    rows = run_all(
        mutants,
        options,
        args.jobs,
        args.tests,
        lambda row: err(f"harness mutants: {row.name}: {row.verdict.value} ({row.seconds:.0f} s)"),
    )
    elapsed = time.monotonic() - started
    out(render(rows))
    out(f"{summary(rows)} ({elapsed:.0f} s wall)")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "profile": args.profile,
                    "via": args.via,
                    "tests": args.tests,
                    "seconds": round(elapsed, 1),
                    "rows": [row.as_json() for row in rows],
                },
                indent=2,
            )
            + "\n"
        )
    return exit_code(rows)
