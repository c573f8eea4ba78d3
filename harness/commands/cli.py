"""`python -m harness …` — the command line.

Subcommands: `up` runs the embedded stack in the foreground; `mutants` runs the suites against
every deliberately broken controller and prints the kill matrix; `report` builds the HTML
report from a results directory; `doctor` checks an environment before a run; `run` runs the
suites and leaves the results layout; `merge` combines shards' layouts into one. Bad input
gets one line on stderr and exit code 4 (usage error), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from harness.commands import argtypes
from harness.contract.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    PROVIDER_STYLES,
    REFERENCE_PROVIDER,
)
from harness.exitcodes import ExitCode
from harness.filewrites import reason


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def _controller(text: str) -> str:
    if text in ("reference", "none") or (text.startswith("mutant:") and len(text) > 7):
        return text
    raise argparse.ArgumentTypeError(f"expected reference, none or mutant:NAME, got {text!r}")


def _fault(text: str) -> str:
    from harness.contract.fault_specs import FaultSpecError, parse_fault

    try:
        parse_fault(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    up = commands.add_parser(
        "up",
        help="run the embedded system under test until interrupted",
        description="Run the embedded API server, KubeVirt sim, reference controller and "
        "fulfillment API in the foreground; write <state-dir>/kubeconfig and <state-dir>/env.",
    )
    up.add_argument(
        "--state-dir",
        type=argtypes.directory,
        default=Path(".harness"),
        help="where to write kubeconfig, env, logs (default: .harness)",
    )
    up.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=DEFAULT_PROFILE,
        help="naming era of the stack (default: %(default)s)",
    )
    up.add_argument(
        "--controller",
        type=_controller,
        default="reference",
        metavar="reference|none|mutant:NAME",
        help="the operator to run: the reference one (default), none (an external controller "
        "is the system under test), or a deliberately broken mutant",
    )
    up.add_argument(
        "--no-controller",
        dest="controller",
        action="store_const",
        const="none",
        help="same as --controller none",
    )
    up.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="COMPONENT:SETTINGS",
        help="inject a fault, e.g. apiserver:error=503,rate=0.05 or kubevirt:never-recreate "
        "(repeatable; see harness/contract/fault_specs.py)",
    )
    up.add_argument("--fault-seed", type=int, default=0, help="seed of the injected faults")
    up.add_argument(
        "--crd",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="also serve this CRD file (repeatable), e.g. an operator's real CRD",
    )
    up.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    up.add_argument("--kube-port", type=_port, default=0, help="API server port (0: any free)")
    up.add_argument("--api-port", type=_port, default=0, help="fulfillment port (0: any free)")
    up.add_argument(
        "--boot-delay",
        type=argtypes.seconds,
        default=0.3,
        help="seconds a VMI takes from Pending to Running",
    )
    up.add_argument(
        "--shutdown-delay",
        type=argtypes.seconds,
        default=0.2,
        help="seconds a deleted VMI takes to shut down",
    )
    up.add_argument(
        "--provision-delay",
        type=argtypes.seconds,
        default=0.2,
        help="seconds the reference provisioner takes to create a VM",
    )
    up.add_argument(
        "--provider",
        choices=PROVIDER_STYLES,
        default=REFERENCE_PROVIDER,
        help="how jobs read in status.jobs under a profile with jobs: the reference "
        "provisioner's own (default), or as the operator's EDA or AAP provider records them",
    )
    up.add_argument(
        "--control-plane",
        choices=("embedded", "real"),
        default="embedded",
        help="the API server: the embedded one (default) or a real Kubernetes control plane "
        "(build it first: python -m harness build-control-plane)",
    )
    up.add_argument("-v", "--verbose", action="store_true", help="debug logs from components")

    from harness.commands import mutants_run

    mutants = commands.add_parser(
        "mutants",
        help="run the suites against every mutant controller; print the kill matrix",
        description="Run the suites against the unmutated controller and every mutant, each on "
        "its own embedded stack, and print which tests killed which mutant.",
    )
    mutants_run.add_arguments(mutants)

    report = commands.add_parser(
        "report",
        help="build the HTML report (Allure Report 3) from a results directory",
        description="Build <results-dir>/allure-report from <results-dir>/allure-results with "
        "Allure Report 3 (npm package allure, installed on first use; needs Node.js and npm).",
    )
    report.add_argument(
        "--results-dir",
        type=argtypes.directory,
        default=None,
        help="the results directory (default: $HARNESS_RESULTS_DIR or ./results)",
    )
    report.add_argument(
        "--open", action="store_true", help="then serve it on 127.0.0.1 and open a browser"
    )

    from harness.doctor.arguments import add_arguments as add_doctor_arguments

    doctor = commands.add_parser(
        "doctor",
        help="check that an environment is ready for the suites",
        description="Preflight checks of the Kubernetes API, CRDs, KubeVirt, the operator and "
        "the fulfillment API: each with a verdict, the evidence and the fix. Exit 20 when a "
        "blocking check fails. Settings as for the suites (flags or HARNESS_* variables).",
    )
    add_doctor_arguments(doctor)

    from harness.commands import suite_run

    run = commands.add_parser(
        "run",
        allow_abbrev=False,  # an abbreviation could swallow a pytest option meant to pass
        help="run the suites; write the results layout; exit with the run's code",
        description="Run the suites (pytest) and write junit.xml, allure-results/, summary.json "
        "and environment.json to the results directory. Arguments not listed here go to pytest "
        "(e.g. --target cluster --api-address HOST:PORT -k restart).",
    )
    suite_run.add_arguments(run)

    merge = commands.add_parser(
        "merge",
        help="combine the results layouts of a sharded run into one",
        description="Combine shards' results directories into one layout with one verdict.",
    )
    merge.add_argument(
        "out", type=argtypes.directory, metavar="OUT_DIR", help="the merged results directory"
    )
    merge.add_argument("shards", type=argtypes.directory, nargs="+", metavar="SHARD_DIR")

    commands.add_parser(
        "build-control-plane",
        help="build the real Kubernetes control plane into the per-user cache (once per pin)",
        description="Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and "
        "kwok from the Go modules pinned in tools/controlplane/ into "
        "~/.cache/osac-harness/controlplane (HARNESS_CONTROL_PLANE_CACHE to change). A second "
        "call with the same pins does nothing. Needs Go 1.26+ and the Go module proxy.",
    )
    commands.add_parser(
        "build-grpcurl",
        help="build grpcurl, the tests' gRPC client, into the per-user cache (once per pin)",
        description="Build github.com/fullstorydev/grpcurl at the version pinned in "
        "tools/grpcurl/ into ~/.cache/osac-harness/grpcurl (HARNESS_GRPCURL_CACHE to change). "
        "A second call with the same pin does nothing. Needs Go 1.26+ and the Go module proxy.",
    )
    return parser


def one_line(message: str) -> str:
    """`message` with whatever would break it into lines (a user's value may hold line
    separators or control characters) shown escaped."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if len(f"a{char}b".splitlines()) > 1 or unicodedata.category(char) == "Cc"
        else char
        for char in message
    )


def _err(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()


def cmd_up(args: argparse.Namespace) -> int:
    from harness.reference.stack import StackError, StackInputError, StackOptions, run_foreground

    options = StackOptions(
        state_dir=args.state_dir,
        profile=args.profile,
        controller=args.controller,
        faults=tuple(args.fault),
        fault_seed=args.fault_seed,
        extra_crds=tuple(args.crd),
        host=args.host,
        kube_port=args.kube_port,
        api_port=args.api_port,
        boot_delay=args.boot_delay,
        shutdown_delay=args.shutdown_delay,
        provision_delay=args.provision_delay,
        provider=args.provider,
        verbose=args.verbose,
        control_plane=args.control_plane,
    )

    def announce(info: dict[str, Any]) -> None:
        sys.stdout.write("READY " + json.dumps(info) + "\n")
        sys.stdout.flush()
        controller = info["controller"]
        detail = "" if controller == "reference" else f", controller {controller}"
        _err(
            f"harness up: ready (profile {info['profile']}{detail}); "
            f"use it with: set -a; . {info['env']}; set +a"
        )

    try:
        return run_foreground(options, announce, _err)
    except StackInputError as error:
        _err(f"harness up: {error}")
        return ExitCode.USAGE_ERROR
    except StackError as error:
        _err(f"harness up: {error}")
        return ExitCode.ENVIRONMENT_NOT_READY


def cmd_mutants(args: argparse.Namespace) -> int:
    from harness.commands import mutants_run

    try:
        return mutants_run.main(args, print, _err)
    except mutants_run.BadInput as error:
        raise UsageError(f"harness mutants: {error}") from None


def cmd_report(args: argparse.Namespace) -> int:
    import os

    from harness.commands import html_report
    from harness.results import ResultsLayout

    root = args.results_dir or Path(os.environ.get("HARNESS_RESULTS_DIR") or "results")
    layout = ResultsLayout(root)
    cache = html_report.default_cache()
    try:
        index = html_report.build(layout, cache, _err)
        print(f"harness report: {index}")
        return html_report.serve(layout, cache) if args.open else ExitCode.PASSED
    except html_report.BadInput as error:
        raise UsageError(f"harness report: {error}") from None
    except html_report.ReportError as error:
        _err(f"harness report: {error}")
        return ExitCode.ENVIRONMENT_NOT_READY


def cmd_doctor(args: argparse.Namespace) -> int:
    from harness.commands import doctor_run
    from harness.config import ConfigError
    from harness.runner.resultsdir import ResultsDirError

    try:
        return doctor_run.run_main(args)
    except (ConfigError, ResultsDirError) as error:
        raise UsageError(f"harness doctor: {error}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from harness.commands import suite_run

    try:
        return suite_run.run(args, args.pytest_args, _err)
    except suite_run.RunUsageError as error:
        raise UsageError(f"harness run: {error}") from None


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.runner import merge

    try:
        return merge.merge(args.out, args.shards, _err)
    except merge.MergeUsageError as error:
        raise UsageError(f"harness merge: {error}") from None


def cmd_build_control_plane(args: argparse.Namespace) -> int:
    from harness.reference.stack import (
        ControlPlaneBuildError,
        ToolCacheError,
        build_control_plane,
    )

    try:
        _err(f"harness build-control-plane: ready in {build_control_plane(_err)}")
    except ToolCacheError as error:
        raise UsageError(f"harness build-control-plane: {error}") from None
    except ControlPlaneBuildError as error:
        _err(f"harness build-control-plane: error: {error}")
        return ExitCode.ENVIRONMENT_NOT_READY
    return 0


def cmd_build_grpcurl(args: argparse.Namespace) -> int:
    from harness.reference.stack import ToolBuildError, ToolCacheError, build_grpcurl

    try:
        _err(f"harness build-grpcurl: ready: {build_grpcurl(_err)}")
    except ToolCacheError as error:
        raise UsageError(f"harness build-grpcurl: {error}") from None
    except ToolBuildError as error:
        _err(f"harness build-grpcurl: error: {error}")
        return ExitCode.ENVIRONMENT_NOT_READY
    return 0


COMMANDS = {
    "build-control-plane": cmd_build_control_plane,
    "build-grpcurl": cmd_build_grpcurl,
    "up": cmd_up,
    "mutants": cmd_mutants,
    "report": cmd_report,
    "doctor": cmd_doctor,
    "run": cmd_run,
    "merge": cmd_merge,
}


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`run` passes what it does not know on to pytest; every other command is strict."""
    args, rest = parser.parse_known_args(argv)
    if args.command != "run" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_args = [arg for arg in rest if arg != "--"]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    command = "harness"
    try:
        args = _parse(parser, argv)
        command = f"harness {args.command}"
        return int(COMMANDS[args.command](args))
    except UsageError as error:
        _err(one_line(str(error)))
        return ExitCode.USAGE_ERROR
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except OSError as error:
        # What the machine refused (a full or read-only disk, a file the harness needs): the
        # environment's doing, in one line. A path the user named is checked before this.
        where = f"{error.filename}: " if error.filename else ""
        _err(f"{command}: environment not ready: {where}{reason(error)}")
        return ExitCode.ENVIRONMENT_NOT_READY
