"""`python -m harness.commands.job_run` — the entry point of the in-cluster Job (jobs/).

`run -- ARGS…` runs `python -m harness doctor --require-evidence` (with the harness settings
among ARGS; `run --no-doctor` skips it) and, if the environment is ready, `python -m harness run
ARGS…`; a missing permission thus ends the Job at once, named in the log and in doctor.json,
instead of failing tests later. Then it writes the done-file (`done.json` in the results layout:
exit code, end time), packs the layout into a gzipped tarball, prints it base64 between two
marker lines on stdout (so `kubectl logs` carries the results out of the pod) and, with
HARNESS_EXPORT_DIR set (a PVC), also leaves the tarball there. It exits with the harness's own
exit code, so the Job fails exactly when the run did.

`unpack OUT_DIR [LOG]` reads such a log (a file, or stdin) and extracts every tarball found in it
into OUT_DIR (one sub-directory per shard when there are several).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from harness.exitcodes import ExitCode
from harness.filewrites import reason, write_atomic
from harness.results import ResultsLayout

BEGIN = "----- BEGIN OSAC HARNESS RESULTS {name} -----"
END = "----- END OSAC HARNESS RESULTS {name} -----"
_BEGIN = re.compile(r"^----- BEGIN OSAC HARNESS RESULTS (?P<name>[A-Za-z0-9._-]+) -----$")
LINE_WIDTH = 76


class BadInput(Exception):
    pass


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def archive_name(environ: dict[str, str] | os._Environ[str]) -> str:
    """`<job>-<index>` inside a Job (pod name without its random suffix), else `results`."""
    index = environ.get("JOB_COMPLETION_INDEX")
    base = environ.get("HARNESS_JOB_NAME") or "results"
    name = f"{base}-{index}" if index not in (None, "") else base
    if not _FILE_NAME.fullmatch(name):
        raise BadInput(
            f"HARNESS_JOB_NAME/JOB_COMPLETION_INDEX make {name!r}, not a file name (letters, "
            "digits, '.', '_', '-')"
        )
    return name


def export_dir(environ: dict[str, str] | os._Environ[str]) -> Path | None:
    """HARNESS_EXPORT_DIR: an existing directory (a mounted volume), checked before the run."""
    value = environ.get("HARNESS_EXPORT_DIR")
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise BadInput(f"HARNESS_EXPORT_DIR={value}: not a directory (is the volume mounted?)")
    return path


def pack(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(root, arcname="results")
    return buffer.getvalue()


def armoured(name: str, data: bytes) -> Iterable[str]:
    encoded = base64.b64encode(data).decode()
    yield BEGIN.format(name=name)
    for start in range(0, len(encoded), LINE_WIDTH):
        yield encoded[start : start + LINE_WIDTH]
    yield END.format(name=name)


def find_archives(lines: Iterable[str]) -> dict[str, bytes]:
    """Every complete armoured tarball in a log, by name; a truncated one is an error."""
    found: dict[str, bytes] = {}
    name: str | None = None
    chunks: list[str] = []
    for raw in lines:
        line = raw.strip()
        # `kubectl logs --prefix` puts "[pod/…/container] " before each line.
        if line.startswith("[") and "] " in line:
            line = line.split("] ", 1)[1]
        if name is None:
            match = _BEGIN.match(line)
            if match:
                name, chunks = match.group("name"), []
            continue
        if line == END.format(name=name):
            try:
                found[name] = base64.b64decode("".join(chunks), validate=True)
            except (binascii.Error, ValueError):
                raise BadInput(f"the results {name} in the log are corrupt") from None
            name = None
        else:
            chunks.append(line)
    if name is not None:
        raise BadInput(f"the results {name} in the log end before their END marker (cut log?)")
    return found


def extract(data: bytes, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(destination, filter="data")


def _run_forwarding_signals(command: list[str]) -> int:
    """Run the harness and pass SIGTERM/SIGINT on to it. As PID 1 of the Job's pod this process
    would otherwise ignore the kubelet's SIGTERM, and the harness would never flush its results
    or clean up before the SIGKILL."""
    child = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def doctor_args(harness_args: Sequence[str]) -> list[str]:
    """The harness settings among `harness run`'s arguments (`--profile osac`, `--via=cr`,
    `--api-insecure`): the doctor checks the environment those settings describe."""
    from harness.config import OPTIONS

    options = {option.flag: option for option in OPTIONS}
    picked: list[str] = []
    items = list(harness_args)
    index = 0
    while index < len(items):
        flag, equals, _ = items[index].partition("=")
        option = options.get(flag)
        taken = 1 if option is None or option.is_switch or equals else 2
        if option is not None:
            picked += items[index : index + taken]
        index += taken
    return picked


def _not_ready(results: ResultsLayout, code: int, started: float) -> None:
    """The summary of a run the doctor stopped: no test ran, the doctor's findings say why."""
    from harness.runner.labels import new_run_id
    from harness.runner.summary import build_summary, write_json

    summary = build_summary(
        run_id=new_run_id(),
        tests=[],
        exit_code=code,
        pytest_exit_code=code,
        started=started,
        finished=time.time(),
    )
    summary["note"] = f"the doctor found the environment not ready ({results.doctor.name})"
    write_json(results.summary, summary)


def run(harness_args: Sequence[str], doctor: bool = True) -> int:
    name = archive_name(os.environ)
    export = export_dir(os.environ)
    results = ResultsLayout(Path(os.environ.get("HARNESS_RESULTS_DIR") or "results"))
    results.root.mkdir(parents=True, exist_ok=True)
    started = time.time()
    code = 0
    if doctor:
        checks = ["doctor", "--require-evidence", *doctor_args(harness_args)]
        code = _run_forwarding_signals([sys.executable, "-m", "harness", *checks])
        if code != 0:
            _not_ready(results, code, started)
    if code == 0:
        code = _run_forwarding_signals([sys.executable, "-m", "harness", "run", *harness_args])
    results.done.write_text(
        json.dumps(
            {
                "exitCode": code,
                "exitName": _exit_name(code),
                "startedAt": _stamp(started),
                "finishedAt": _stamp(time.time()),
            },
            indent=2,
        )
        + "\n"
    )
    data = pack(results.root)
    if export is not None:
        try:
            write_atomic(export / f"{name}.tar.gz", data)
        except OSError as error:  # the copy in the log below still carries the results
            sys.stderr.write(
                f"jobrun: HARNESS_EXPORT_DIR: cannot write {name}.tar.gz: {reason(error)}; "
                "the results are in this log only\n"
            )
    sys.stdout.flush()
    sys.stdout.write("".join(line + "\n" for line in armoured(name, data)))
    sys.stdout.flush()
    return code


def unpack(out_dir: Path, log: Path | None) -> int:
    if log is not None and not log.is_file():
        raise BadInput(f"no such log file: {log}")
    text = log.read_text(errors="replace") if log is not None else sys.stdin.read()
    archives = find_archives(text.splitlines())
    if not archives:
        raise BadInput("no results found in the log (no BEGIN OSAC HARNESS RESULTS marker)")
    for name, data in sorted(archives.items()):
        target = out_dir if len(archives) == 1 else out_dir / name
        extract(data, target)
        sys.stderr.write(f"jobrun: {name} -> {target / 'results'}\n")
    return 0


def _exit_name(code: int) -> str:
    try:
        return ExitCode(code).name
    except ValueError:
        return "UNKNOWN"


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m harness.commands.job_run", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_parser = commands.add_parser(
        "run", help="check the environment, run the harness, write done-file, export"
    )
    run_parser.add_argument(
        "--no-doctor", action="store_true", help="skip `harness doctor` before the run"
    )
    run_parser.add_argument("harness_args", nargs=argparse.REMAINDER)
    unpack_parser = commands.add_parser("unpack", help="extract the results from a Job's log")
    unpack_parser.add_argument("out_dir", type=Path)
    unpack_parser.add_argument("log", type=Path, nargs="?")
    try:
        args = parser.parse_args(argv)
        if args.command == "run":
            forwarded = list(args.harness_args)
            if forwarded[:1] == ["--"]:
                forwarded = forwarded[1:]
            return run(forwarded, doctor=not args.no_doctor)
        return unpack(args.out_dir, args.log)
    except BadInput as error:
        sys.stderr.write(f"{error}\n")
        return int(ExitCode.USAGE_ERROR)
    except (OSError, tarfile.TarError) as error:
        sys.stderr.write(f"jobrun: {error}\n")
        return int(ExitCode.HARNESS_ERROR)


if __name__ == "__main__":
    sys.exit(main())
