"""`python -m harness.reference.fulfillment`: flags, READY line, SIGTERM.

    python -m harness.reference.fulfillment --kubeconfig PATH --profile NAME
        [--host 127.0.0.1] [--port 0] --hub-namespace NS
        (--tokens PATH | --token-review --admin-subject SUBJECT… --tenant TENANT)
        [--tls-cert PATH --tls-key PATH] [--full-replace-update]
        [--fault fulfillment:… --fault-seed N] [-v]

`--tokens` reads the accepted tokens from a file (the embedded stack); `--token-review` asks the
Kubernetes API of the kubeconfig who each token stands for, as the real deployment does, and
lets the `--admin-subject`s (repeatable) call the private API.

Prints `READY {"component": "fulfillment", "address": "HOST:PORT", "port": PORT}` once it serves.
Bad input gives one line `fulfillment: error: ...` and exit code 2.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from pathlib import Path
from typing import NoReturn

from harness.contract.fault_specs import FaultSpecError, parse_faults
from harness.contract.profiles import PROFILES, UnknownProfileError, get_profile
from harness.reference.component_client import KubeconfigError
from harness.reference.fulfillment.server import (
    ServerError,
    ServerOptions,
    TokenReviewOptions,
    start_server,
)
from harness.reference.fulfillment.tokens import TokenFileError, load_tokens
from harness.reference.runtime import (
    announce_ready,
    fail,
    install_stop_handler,
    start_component,
)

COMPONENT = "fulfillment"
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(COMPONENT, message)
        raise SystemExit(2)  # fail() exits; this line only satisfies the type checker


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m harness.reference.fulfillment", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--profile", required=True, help=f"one of: {', '.join(sorted(PROFILES))}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hub-namespace", required=True)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--tokens", type=Path, help="the tokens file")
    who.add_argument(
        "--token-review", action="store_true", help="authenticate tokens through TokenReview"
    )
    parser.add_argument(
        "--admin-subject", action="append", default=[], help="with --token-review (repeatable)"
    )
    parser.add_argument("--tenant", help="with --token-review: every caller's tenant")
    parser.add_argument("--tls-cert", type=Path)
    parser.add_argument("--tls-key", type=Path)
    parser.add_argument(
        "--full-replace-update",
        action="store_true",
        help="ignore update masks and replace the whole spec (fulfillment-service before 0cff9a06)",
    )
    parser.add_argument(
        "--fault", action="append", default=[], help="e.g. fulfillment:error=UNAVAILABLE,rate=0.1"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the injected faults")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def _review_options(args: argparse.Namespace) -> TokenReviewOptions | None:
    if not args.token_review:
        for flag, value in (("--admin-subject", args.admin_subject), ("--tenant", args.tenant)):
            if value:
                fail(COMPONENT, f"{flag} goes with --token-review (the tokens file names admins)")
        return None
    if not args.admin_subject:
        fail(COMPONENT, "--token-review needs at least one --admin-subject")
    for subject in args.admin_subject:
        if not subject.strip() or subject != subject.strip():
            fail(COMPONENT, f"--admin-subject: {subject!r} is not a subject name")
    if not args.tenant or len(args.tenant) > 63 or not _NAMESPACE.match(args.tenant):
        given = "missing" if args.tenant is None else f"{args.tenant!r} is not a tenant name"
        fail(COMPONENT, f"--tenant: {given} (--token-review needs it)")
    return TokenReviewOptions(tuple(args.admin_subject), args.tenant)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        profile = get_profile(args.profile)
    except UnknownProfileError as error:
        fail(COMPONENT, f"--profile: {error}")
    if not 0 <= args.port <= 65535:
        fail(COMPONENT, f"--port: {args.port} is not a port number (0-65535)")
    if len(args.hub_namespace) > 63 or not _NAMESPACE.match(args.hub_namespace):
        fail(COMPONENT, f"--hub-namespace: {args.hub_namespace!r} is not a namespace name")
    try:
        faults = parse_faults(args.fault, COMPONENT)
    except FaultSpecError as error:
        fail(COMPONENT, str(error))
    review = _review_options(args)
    logger = start_component(COMPONENT, args.verbose)
    if faults:
        logger.info(
            "injecting faults (seed %d): %s", args.fault_seed, "; ".join(f.text for f in faults)
        )
    try:
        tokens = load_tokens(args.tokens) if args.tokens is not None else None
        running = start_server(
            ServerOptions(
                profile=profile,
                kubeconfig=args.kubeconfig,
                hub_namespace=args.hub_namespace,
                tokens=tokens,
                host=args.host,
                port=args.port,
                tls_cert=args.tls_cert,
                tls_key=args.tls_key,
                full_replace_update=args.full_replace_update,
                faults=faults,
                fault_seed=args.fault_seed,
                review=review,
            )
        )
    except (TokenFileError, KubeconfigError, ServerError) as error:
        fail(COMPONENT, str(error))
    stop_requested = threading.Event()
    install_stop_handler(stop_requested.set)
    logger.info(
        "serving %s and %s on %s (%s, hub namespace %s, tokens from %s)",
        profile.grpc.public_service,
        profile.grpc.private_service,
        running.address,
        "TLS" if args.tls_cert else "plaintext",
        args.hub_namespace,
        "TokenReview" if review else args.tokens,
    )
    announce_ready(COMPONENT, address=running.address, port=running.port)
    while not stop_requested.wait(1.0):
        pass
    logger.info("stopping")
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
