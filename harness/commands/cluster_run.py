"""`run-local.sh --target cluster`: the suites against a cluster from a developer's machine.

Uses the current kubeconfig context (or --kubeconfig/--kube-context, KUBECONFIG,
HARNESS_KUBE_CONTEXT). Unless --api-address (HARNESS_API_ADDRESS) is given, it starts
`kubectl port-forward` to the fulfillment API Service and keeps it alive (`port_forward.py`);
the forward speaks the API's own TLS, so verification is skipped unless --api-ca or
--api-plaintext says otherwise. Without a token it mints one for a service account through the
TokenRequest API (what `kubectl create token` calls). Then it runs `python -m harness doctor`
(a blocking failure stops here with exit 20) and `python -m harness run`, both writing into the
results layout (--results-dir, default ./results), and exits with the run's exit code.
Every other argument goes to the run (and on to pytest).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from harness.commands.port_forward import PortForward, PortForwardError, kubectl_command
from harness.exitcodes import ExitCode

TOKEN_SECONDS_MIN = 600


class BadInput(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(f"run-local.sh --target cluster: {message}")


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    if not (number.isascii() and number.isdigit()) or int(number) * units[unit] < TOKEN_SECONDS_MIN:
        raise argparse.ArgumentTypeError(
            f"expected a duration of at least 10m like 1h, got {text!r}"
        )
    return int(number) * units[unit]


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[argparse.Namespace, list[str]]:
    parser = _Parser(prog="run-local.sh --target cluster", add_help=True)
    env = environ.get
    parser.add_argument("--target", choices=["cluster"], default="cluster")
    parser.add_argument("--kubeconfig", default=env("KUBECONFIG"))
    parser.add_argument("--kube-context", default=env("HARNESS_KUBE_CONTEXT"))
    parser.add_argument("--api-address", default=env("HARNESS_API_ADDRESS"))
    parser.add_argument(
        "--api-namespace",
        default=env("HARNESS_API_NAMESPACE"),
        help="namespace of the fulfillment API Service (port-forward) and of the token's account",
    )
    parser.add_argument("--api-service", default=env("HARNESS_API_SERVICE") or "fulfillment-api")
    parser.add_argument("--api-service-port", type=int, default=8000)
    parser.add_argument("--api-token", default=env("HARNESS_API_TOKEN"))
    parser.add_argument("--api-token-file", default=env("HARNESS_API_TOKEN_FILE"))
    parser.add_argument(
        "--token-service-account",
        default=env("HARNESS_TOKEN_SERVICE_ACCOUNT") or "admin",
        help="service account to mint an API token for when none is given (default admin)",
    )
    parser.add_argument("--token-duration", type=_duration, default=_duration("1h"))
    parser.add_argument("--results-dir", default=env("HARNESS_RESULTS_DIR") or "results")
    parser.add_argument("--no-doctor", action="store_true", help="skip the environment doctor")
    return parser.parse_known_args(list(argv))


def _log(message: str) -> None:
    sys.stderr.write(f"run-local: {message}\n")
    sys.stderr.flush()


def _mint_token(args: argparse.Namespace) -> str:
    from harness.clients.kubernetes_api import KubeClient
    from harness.clients.resources import KubeError

    if not args.api_namespace:
        raise BadInput(
            "no API token: pass --api-token/--api-token-file, or --api-namespace so one can be "
            f"minted for service account {args.token_service_account}"
        )
    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else None
    kube = KubeClient.from_kubeconfig(kubeconfig, args.kube_context)
    try:
        token = kube.mint_token(args.api_namespace, args.token_service_account, args.token_duration)
    except KubeError:
        raise
    except Exception as error:
        reason = getattr(error, "reason", None) or str(error).splitlines()[0]
        raise KubeError(
            f"cannot mint a token for {args.api_namespace}/{args.token_service_account}: {reason}"
        ) from None
    finally:
        kube.close()
    _log(
        f"minted a {args.token_duration // 60} min token for service account "
        f"{args.api_namespace}/{args.token_service_account}"
    )
    return token


def _child_env(args: argparse.Namespace, address: str, token: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HARNESS_TARGET": "cluster",
            "HARNESS_API_ADDRESS": address,
            "HARNESS_RESULTS_DIR": str(Path(args.results_dir).resolve()),
        }
    )
    if args.kubeconfig:
        env["KUBECONFIG"] = str(Path(args.kubeconfig).resolve())
    if args.kube_context:
        env["HARNESS_KUBE_CONTEXT"] = args.kube_context
    if token is not None:
        env["HARNESS_API_TOKEN"] = token
        env.pop("HARNESS_API_TOKEN_FILE", None)
    elif args.api_token_file:
        env["HARNESS_API_TOKEN_FILE"] = args.api_token_file
    return env


def _runner(rest: Sequence[str]) -> list[str]:
    """`harness run`, on 2 workers unless the user chose (a flag, or HARNESS_WORKERS, which
    `harness run` reads and names in its message if it is bad)."""
    chosen = os.environ.get("HARNESS_WORKERS") or any(
        arg in ("-n", "--workers") or arg.startswith(("-n=", "--workers=")) for arg in rest
    )
    return [sys.executable, "-m", "harness", "run", *([] if chosen else ["--workers", "2"])]


def main(argv: Sequence[str] | None = None) -> int:
    from harness.clients.resources import KubeError

    try:
        args, rest = parse(sys.argv[1:] if argv is None else argv, os.environ)
    except BadInput as error:
        _log(str(error))
        return int(ExitCode.USAGE_ERROR)
    forward: PortForward | None = None
    try:
        token = args.api_token
        if not token and not args.api_token_file:
            token = _mint_token(args)
        address = args.api_address
        if not address:
            if not args.api_namespace:
                raise BadInput(
                    "pass --api-address, or --api-namespace to port-forward to the "
                    f"{args.api_service} Service"
                )
            forward = PortForward(
                kubectl_command(
                    args.api_namespace,
                    f"svc/{args.api_service}",
                    args.api_service_port,
                    args.kubeconfig,
                    args.kube_context,
                ),
                _log,
            )
            address = forward.start()
            tls_given = {"--api-ca", "--api-plaintext", "--api-insecure"} & set(rest) or any(
                os.environ.get(name)
                for name in ("HARNESS_API_CA", "HARNESS_API_PLAINTEXT", "HARNESS_API_INSECURE")
            )
            if not tls_given:
                rest = [*rest, "--api-insecure"]
        env = _child_env(args, address, token)
        if not args.no_doctor:
            doctor = [sys.executable, "-m", "harness", "doctor", *_doctor_args(rest)]
            _log("doctor: " + " ".join(doctor[3:]))
            code = subprocess.call(doctor, env=env)
            if code != 0:
                _log(f"the environment is not ready (doctor exit {code}); not running the suites")
                return code
        command = [*_runner(rest), *rest]
        _log("run: " + " ".join(command[1:]))
        return subprocess.call(command, env=env)
    except BadInput as error:
        _log(str(error))
        return int(ExitCode.USAGE_ERROR)
    except (KubeError, PortForwardError) as error:
        _log(str(error))
        return int(ExitCode.ENVIRONMENT_NOT_READY)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    finally:
        if forward is not None:
            forward.stop()


# Harness settings the doctor understands as well (the rest are pytest's or the run's own).
_DOCTOR_FLAGS = {
    "--profile",
    "--via",
    "--namespace",
    "--tenant",
    "--api-ca",
    "--admin-token",
}
_DOCTOR_SWITCHES = {"--api-insecure", "--api-plaintext"}


def _doctor_args(rest: Sequence[str]) -> list[str]:
    picked: list[str] = []
    items = list(rest)
    for index, item in enumerate(items):
        flag, _, value = item.partition("=")
        if flag in _DOCTOR_SWITCHES:
            picked.append(item)
        elif flag in _DOCTOR_FLAGS:
            if value:
                picked.append(item)
            elif index + 1 < len(items):
                picked += [item, items[index + 1]]
    return picked


if __name__ == "__main__":
    sys.exit(main())
