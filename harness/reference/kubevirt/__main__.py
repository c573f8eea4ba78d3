"""`python -m harness.reference.kubevirt --kubeconfig PATH [--boot-delay S] [--shutdown-delay S]
[--fault kubevirt:… --fault-seed N] [--launcher-pods]`"""

from __future__ import annotations

import argparse
import sys
import threading

from harness.contract.fault_specs import FaultSpecError, parse_faults
from harness.reference.component_client import ApiError, KubeconfigError, load_api_client
from harness.reference.kubevirt.simulator import KubeVirtSimulator
from harness.reference.kubevirt.vm_faults import KubeVirtFaults
from harness.reference.runtime import announce_ready, fail, install_stop_handler, start_component

COMPONENT = "kubevirt"


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        fail(COMPONENT, message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(prog="python -m harness.reference.kubevirt", description="Simulated KubeVirt")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--boot-delay", type=_non_negative, default=0.3, help="seconds to Running")
    parser.add_argument(
        "--shutdown-delay", type=_non_negative, default=0.2, help="seconds a deleted VMI lingers"
    )
    parser.add_argument("--namespace", help="only this namespace (default: all namespaces)")
    parser.add_argument(
        "--fault", action="append", default=[], help="e.g. kubevirt:never-recreate (repeatable)"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the injected faults")
    parser.add_argument(
        "--launcher-pods",
        action="store_true",
        help="create a virt-launcher pod for each VMI (an API server that runs pods)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger = start_component(COMPONENT, args.verbose)
    try:
        faults = parse_faults(args.fault, COMPONENT)
    except FaultSpecError as error:
        fail(COMPONENT, str(error))
    try:
        api_client = load_api_client(args.kubeconfig)
    except KubeconfigError as error:
        fail(COMPONENT, str(error))
    simulator = KubeVirtSimulator(
        api_client,
        boot_delay=args.boot_delay,
        shutdown_delay=args.shutdown_delay,
        namespace=args.namespace,
        faults=KubeVirtFaults(faults, args.fault_seed),
        launcher_pods=args.launcher_pods,
    )
    if faults:
        logger.info(
            "injecting faults (seed %d): %s", args.fault_seed, "; ".join(f.text for f in faults)
        )
    done = threading.Event()
    install_stop_handler(done.set)
    try:
        simulator.start()
    except (TimeoutError, ApiError) as error:
        simulator.stop()
        fail(COMPONENT, f"cannot start: {error}", exit_code=1)
    logger.info(
        "simulating KubeVirt in %s (boot %.2f s, shutdown %.2f s)",
        args.namespace or "all namespaces",
        args.boot_delay,
        args.shutdown_delay,
    )
    announce_ready(COMPONENT)
    done.wait()
    logger.info("stopping")
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
