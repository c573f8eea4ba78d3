"""`python -m harness run`: the suites as one run, leaving one results layout and one exit code.

pytest runs in a child process of its own session, so a broken test process can never take the
command's bookkeeping with it; SIGTERM/SIGINT to the command are passed on once as SIGTERM (the
pytest side stops, cleans up and writes its results), a second SIGINT as SIGINT. If pytest ends
without writing summary.json (it crashed, or refused its arguments), this command writes one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from harness.commands import argtypes
from harness.commands.usage_filter import UsageFilter
from harness.exitcodes import ExitCode
from harness.filewrites import is_disk_trouble, reason
from harness.ownership import PARENT_ENV, DirectoryBusy, hold
from harness.results import ResultsLayout
from harness.runner.deadline import DeadlineError, parse_deadline_seconds
from harness.runner.environment import base_environment
from harness.runner.labels import RUN_ID_ENV, new_run_id
from harness.runner.resultsdir import (
    ResultsDirError,
    check_results_dir,
    discard_previous,
    prepare_results_dir,
    restore_previous,
)
from harness.runner.shard import ShardError, parse_shard
from harness.runner.summary import build_summary, read_summary, write_json, write_summary

REPO_SUITES = Path(__file__).resolve().parents[2] / "suites"
WORKERS_ENV = "HARNESS_WORKERS"
# pytest's own code for arguments it refuses (pytest.ExitCode.USAGE_ERROR; not imported here).
pytest_usage_error = 4


class RunUsageError(ValueError):
    """Bad input to `harness run`; one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results-dir",
        type=argtypes.directory,
        default=None,
        help="where to write the results layout (default: $HARNESS_RESULTS_DIR or ./results); "
        "must be new, empty, or an earlier harness results layout (which is replaced)",
    )
    parser.add_argument(
        "--deadline",
        metavar="SECONDS",
        help="stop starting tests when too little time is left; they are marked not-run "
        "(exit 22) [env HARNESS_DEADLINE, or HARNESS_JOB_DEADLINE=activeDeadlineSeconds]",
    )
    parser.add_argument(
        "--shard",
        metavar="INDEX/COUNT",
        help="run one shard of the suite (by a stable hash of each test id) "
        "[env HARNESS_SHARD, or JOB_COMPLETION_INDEX with HARNESS_SHARD_COUNT]",
    )
    parser.add_argument(
        "--keep-on-failure",
        action="store_true",
        help="keep failing tests' objects (others are deleted) and print how to remove them",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        default=None,
        help=f"pytest-xdist worker processes (default 1) [env {WORKERS_ENV}]",
    )


def build_pytest_command(args: argparse.Namespace, extra: Sequence[str], root: Path) -> list[str]:
    layout = ResultsLayout(root)
    paths = test_paths(extra)
    command = [sys.executable, "-m", "pytest"]
    if not paths:
        command.append(str(_suites_dir()))
    command += [
        "--junitxml",
        str(layout.junit),
        "--alluredir",
        str(layout.allure_results),
        "--results-dir",
        str(root),
    ]
    if args.workers > 1:
        command += ["-n", str(args.workers)]
    if args.shard:
        command += ["--shard", args.shard]
    if args.deadline:
        command += ["--deadline", args.deadline]
    if args.keep_on_failure:
        command.append("--keep-on-failure")
    return [*command, *extra]


def test_paths(extra: Sequence[str]) -> list[str]:
    """The test files or directories among pytest's arguments (then `suites` is not added):
    not an option's value (--kubeconfig FILE, --state-dir DIR, -k EXPR), but a Python file or
    a directory, with or without `::test`."""
    found = []
    previous = ""
    for arg in extra:
        takes_value = previous.startswith("-") and "=" not in previous and previous in _VALUED
        if not arg.startswith("-") and not takes_value:
            path = Path(arg.split("::", maxsplit=1)[0])
            if (path.is_file() and path.suffix == ".py") or path.is_dir():
                found.append(arg)
        previous = arg
    return found


def _valued_options() -> frozenset[str]:
    from harness.config import OPTIONS

    harness = {option.flag for option in OPTIONS if not option.is_switch}
    pytest_own = {"-k", "-m", "-p", "-n", "-c", "-o", "--basetemp", "--rootdir", "--junitxml"}
    return frozenset(harness | pytest_own | {"--alluredir", "--dist", "--maxfail", "--timeout"})


_VALUED = _valued_options()


def _suites_dir() -> Path:
    local = Path("suites")
    if local.is_dir():
        return local
    if REPO_SUITES.is_dir():
        return REPO_SUITES
    raise RunUsageError("no suites directory here or next to the harness; pass the test paths")


def validate(args: argparse.Namespace) -> None:
    try:
        if args.shard:
            parse_shard(args.shard)
        if args.deadline:
            parse_deadline_seconds(args.deadline)
    except (ShardError, DeadlineError) as error:
        raise RunUsageError(str(error)) from None
    workers, named = args.workers, "--workers"
    if workers is None:
        workers, named = os.environ.get(WORKERS_ENV) or "1", WORKERS_ENV
    text = str(workers)
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise RunUsageError(f"{named} must be a whole number of at least 1, got {workers!r}")
    args.workers = int(text)


def results_root(args: argparse.Namespace) -> tuple[Path, str]:
    """The results directory and what named it (the flag, the variable or the default)."""
    if args.results_dir is not None:
        return args.results_dir, "--results-dir"
    if os.environ.get("HARNESS_RESULTS_DIR"):
        return Path(os.environ["HARNESS_RESULTS_DIR"]), "HARNESS_RESULTS_DIR"
    return Path("results"), "the default results dir"


def run(args: argparse.Namespace, extra: Sequence[str], err: Callable[[str], None]) -> int:
    validate(args)
    root, named_by = results_root(args)
    command = build_pytest_command(args, extra, root)
    try:
        check_results_dir(root)
        root.mkdir(parents=True, exist_ok=True)
    except ResultsDirError as error:
        raise RunUsageError(f"{named_by}: {error}") from None
    except OSError as error:
        if is_disk_trouble(error):
            raise  # the disk's doing, not the name's: exit 20
        raise RunUsageError(f"{named_by}: cannot create {root}: {reason(error)}") from None
    try:
        with hold(root, "harness run", "results dir"):
            try:
                layout = prepare_results_dir(root)
            except ResultsDirError as error:
                raise RunUsageError(f"{named_by}: {error}") from None
            run_id = os.environ.get(RUN_ID_ENV) or new_run_id()
            started = time.time()
            # PARENT_ENV: pytest dies with this command, however it ends (the plugin asks).
            env = {**os.environ, RUN_ID_ENV: run_id, PARENT_ENV: str(os.getpid())}
            code, refused = _run_pytest(command, env, err)
            if code == pytest_usage_error and not layout.summary.is_file():
                kept = restore_previous(layout)
                err(
                    f"harness run: {refused or 'pytest refused its arguments'}"
                    + (f"; kept the results in {root}" if kept else "")
                )
                return int(ExitCode.USAGE_ERROR)
            discard_previous(layout)
            return _conclude(layout, run_id, code, started, err)
    except DirectoryBusy as error:
        raise RunUsageError(str(error)) from None


def _run_pytest(
    command: list[str], env: dict[str, str], err: Callable[[str], None]
) -> tuple[int, str | None]:
    """pytest's exit code, and the words of its refusal when it refused its arguments."""
    child = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.PIPE)
    assert child.stderr is not None
    stderr = UsageFilter(child.stderr, sys.stderr.buffer)
    forwarded: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if not forwarded:
            err(f"harness run: {signal.Signals(signum).name}: stopping the tests and cleaning up")
            child.send_signal(signal.SIGTERM)
        elif signum == signal.SIGINT:
            child.send_signal(signal.SIGINT)
        forwarded.append(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # only if a handler was replaced under us
                child.send_signal(signal.SIGTERM)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code, stderr.finish(usage_error=code == pytest_usage_error)


def _conclude(
    layout: ResultsLayout, run_id: str, code: int, started: float, err: Callable[[str], None]
) -> int:
    if not layout.environment.is_file():
        environment = base_environment(None)
        environment["run_id"] = run_id
        with contextlib.suppress(OSError):  # the summary matters more, and says why
            write_json(layout.environment, environment)
    try:
        summary = read_summary(layout.summary)
    except ValueError:
        kept = (ExitCode.USAGE_ERROR, ExitCode.ENVIRONMENT_NOT_READY)
        exit_code = ExitCode(code) if code in kept else ExitCode.HARNESS_ERROR
        summary = build_summary(
            run_id=run_id,
            tests=[],
            exit_code=exit_code,
            pytest_exit_code=code,
            started=started,
            finished=time.time(),
        )
        summary["note"] = f"pytest ended with code {code} before writing a summary"
        write_summary(layout.summary, summary)
        err(f"harness run: pytest ended with code {code} and no summary; see its output above")
        return int(exit_code)
    counts = summary["counts"]
    shown = ", ".join(f"{counts[k]} {k}" for k in counts if k != "total" and counts[k])
    err(
        f"harness run: {summary['verdict']} (exit {summary['exit_code']}): "
        f"{shown or 'no tests'}; results in {layout.root}"
    )
    return int(summary["exit_code"])
