"""The doctor's command-line options, apart from the checks so that building the `harness`
parser (every subcommand, `up` included) does not import the Kubernetes client and gRPC."""

from __future__ import annotations

import argparse

from harness.config import OPTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        if option.is_switch:
            parser.add_argument(option.flag, action="store_true", default=None, help=option.help)
        else:
            parser.add_argument(option.flag, default=None, help=f"{option.help} (${option.env})")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--operator-namespace", help="namespace of the operator's Deployment")
    parser.add_argument("--operator-deployment", help="name of the operator's Deployment")
    parser.add_argument("--expected-release", help="operator image tag that should be deployed")
    parser.add_argument("--expected-image", help="full operator image that should be deployed")
    parser.add_argument(
        "--trusted-org",
        action="append",
        default=[],
        help="registry account whose images count as official (repeatable)",
    )
    parser.add_argument(
        "--webhook-timeout", type=float, default=10.0, help="seconds to wait for a webhook"
    )
    parser.add_argument(
        "--require-evidence",
        action="store_true",
        help="fail, not warn, when our identity may not read a run's evidence (pods, events, "
        "the operator's log)",
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="CHECK", help="run only these checks"
    )
