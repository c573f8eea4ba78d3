"""`python -m harness.reference.controller --kubeconfig PATH --profile NAME …`"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from harness.contract.profiles import PROFILES, get_profile
from harness.reference.component_client import ApiError, KubeconfigError, load_api_client
from harness.reference.controller import job_styles
from harness.reference.controller.manager import ControllerManager
from harness.reference.controller.mutants import MUTANTS, UnknownMutantError, select
from harness.reference.controller.reconciler import DEFAULT_POLL_INTERVAL, Reconciler
from harness.reference.controller.restart import REFERENCE
from harness.reference.runtime import announce_ready, fail, install_stop_handler, start_component

COMPONENT = "controller"


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


class _ListMutants(argparse.Action):
    """`--list-mutants`: the gallery as JSON on stdout (name, deviation, breaks, killed_by)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        json.dump([MUTANTS[name].describe() for name in sorted(MUTANTS)], sys.stdout, indent=1)
        sys.stdout.write("\n")
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        fail(COMPONENT, message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(prog="python -m harness.reference.controller", description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--profile", required=True, choices=sorted(PROFILES))
    parser.add_argument(
        "--namespace", help="hub namespace watched for ComputeInstances (default: the profile's)"
    )
    parser.add_argument(
        "--tenant-namespace", help="namespace holding Tenant objects (default: the hub namespace)"
    )
    parser.add_argument(
        "--provision-delay", type=_non_negative, default=0.2, help="seconds a provision job waits"
    )
    parser.add_argument(
        "--provider",
        choices=sorted(job_styles.STYLES),
        default=job_styles.REFERENCE,
        help="how provisioning jobs read in status.jobs: the harness's own ids and states, or "
        "as the EDA or AAP provider records them (profiles with jobs)",
    )
    parser.add_argument("--workers", type=_positive_int, default=4)
    parser.add_argument(
        "--poll-interval",
        type=_non_negative,
        default=DEFAULT_POLL_INTERVAL,
        help="job status poll interval (s)",
    )
    parser.add_argument(
        "--mutant", metavar="NAME", help="run a deliberately broken variant (see --list-mutants)"
    )
    parser.add_argument(
        "--list-mutants", nargs=0, action=_ListMutants, help="print the mutant gallery and exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger = start_component(COMPONENT, args.verbose)
    profile = get_profile(args.profile)
    hub = args.namespace or profile.hub_namespace
    tenant_namespace = args.tenant_namespace or hub
    try:
        mutant = select(args.mutant) if args.mutant else None
    except UnknownMutantError as error:
        fail(COMPONENT, str(error))
    try:
        api_client = load_api_client(args.kubeconfig)
    except KubeconfigError as error:
        fail(COMPONENT, str(error))
    manager = ControllerManager(
        api_client,
        profile,
        hub_namespace=hub,
        tenant_namespace=tenant_namespace,
        provision_delay=args.provision_delay,
        workers=args.workers,
        poll_interval=args.poll_interval or DEFAULT_POLL_INTERVAL,
        restart=mutant.restart if mutant else REFERENCE,
        reconciler_class=mutant.reconciler_class if mutant else Reconciler,
        provider_style=args.provider,
    )
    done = threading.Event()
    install_stop_handler(done.set)
    try:
        manager.start()
    except (TimeoutError, ApiError) as error:
        manager.stop()
        fail(COMPONENT, f"cannot reach the API server: {error}", exit_code=1)
    if mutant is not None:
        logger.warning("MUTANT %s: %s", mutant.name, mutant.deviation)
    logger.info(
        "watching %s in %s (tenants in %s), profile %s, provider style %s",
        profile.crd_name,
        hub,
        tenant_namespace,
        profile.name,
        args.provider,
    )
    announce_ready(COMPONENT)
    done.wait()
    logger.info("stopping")
    manager.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
