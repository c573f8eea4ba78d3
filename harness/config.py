"""Harness settings: one table of options, read from flags or environment, validated once.

Every option has a command-line flag (pytest plugin) and an environment variable. The variable
names are the ones `python -m harness up` writes into `<state-dir>/env`, so
`set -a; . .harness/env; set +a; pytest suites --target cluster` needs no other flags.
A bad value raises `ConfigError` with one line that names what the user set (the flag, or the
variable when the value came from the environment) and the fix.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.contract.milestones import PHASES, TOTAL
from harness.contract.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile


class ConfigError(ValueError):
    """A setting is missing or invalid; the message is one line a user can act on."""


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] | None = None
    is_switch: bool = False
    repeatable: bool = False  # a flag given several times; the variable holds a comma list

    @property
    def dest(self) -> str:
        return "harness_" + self.flag.lstrip("-").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "--target",
        "HARNESS_TARGET",
        "embedded: start the bundled stack; cluster: use what "
        "the kubeconfig and API flags point at",
        "embedded",
        ("embedded", "cluster"),
    ),
    Option(
        "--control-plane",
        "HARNESS_CONTROL_PLANE",
        "with --target embedded, the API server of the stack the harness starts: embedded (the "
        "harness's own) or real (kube-apiserver, etcd, controllers and kwok, built by "
        "python -m harness build-control-plane)",
        "embedded",
        ("embedded", "real"),
    ),
    Option(
        "--profile",
        "HARNESS_PROFILE",
        "naming era of the system under test",
        DEFAULT_PROFILE,
        tuple(sorted(PROFILES)),
    ),
    Option(
        "--via",
        "HARNESS_VIA",
        "api: request restarts through the fulfillment API, as users do; cr: patch "
        "spec.restartRequestedAt on the CR directly (an operator alone, no fulfillment API)",
        "api",
        ("api", "cr"),
    ),
    Option("--kubeconfig", "KUBECONFIG", "kubeconfig of the cluster holding ComputeInstances"),
    Option("--kube-context", "HARNESS_KUBE_CONTEXT", "kubeconfig context (default: current)"),
    Option(
        "--namespace",
        "HARNESS_NAMESPACE",
        "hub namespace of the ComputeInstance CRs "
        "(default: the profile's, e.g. osac-computeinstance)",
    ),
    Option(
        "--tenant",
        "HARNESS_TENANT",
        "tenant annotation of CRs the harness creates itself with --via cr",
    ),
    Option("--api-address", "HARNESS_API_ADDRESS", "fulfillment gRPC API as host:port"),
    Option("--api-token", "HARNESS_API_TOKEN", "bearer token for the fulfillment API"),
    Option("--api-token-file", "HARNESS_API_TOKEN_FILE", "file holding the API bearer token"),
    Option("--admin-token", "HARNESS_ADMIN_TOKEN", "admin token for private API methods"),
    Option("--api-ca", "HARNESS_API_CA", "CA bundle that signed the API's TLS certificate"),
    Option(
        "--api-insecure",
        "HARNESS_API_INSECURE",
        "TLS without verifying the API's certificate (like grpcurl -insecure)",
        is_switch=True,
    ),
    Option(
        "--api-plaintext", "HARNESS_API_PLAINTEXT", "talk to the API without TLS", is_switch=True
    ),
    Option(
        "--provision-timeout",
        "HARNESS_PROVISION_TIMEOUT",
        "seconds to wait for a new instance to run (default: 60 embedded, 900 cluster)",
    ),
    Option(
        "--operator-liveness-timeout",
        "HARNESS_OPERATOR_LIVENESS_TIMEOUT",
        "seconds within which a controller must touch a new instance's CR (a finalizer or "
        "status) before the harness says no operator is reconciling; slow provisioning after "
        "that keeps --provision-timeout (default: 15 embedded, 60 cluster)",
    ),
    Option(
        "--restart-timeout",
        "HARNESS_RESTART_TIMEOUT",
        "seconds to wait for a restart to complete (default: 60 embedded, 300 cluster)",
    ),
    Option(
        "--quiet-window",
        "HARNESS_QUIET_WINDOW",
        "seconds a negative test watches for a restart that must not happen, after the "
        "operator has provably seen the request (default: 2 embedded, 10 cluster)",
    ),
    Option(
        "--state-dir",
        "HARNESS_STATE_DIR",
        "where the embedded stack keeps its files "
        "(default: a fresh directory under pytest's temporary directory)",
    ),
    Option(
        "--results-dir",
        "HARNESS_RESULTS_DIR",
        "write the results layout (timeline, diagnostics, metrics, summary) here; "
        "`python -m harness run` and run-local.sh default to ./results",
    ),
    Option(
        "--max-restart-seconds",
        "HARNESS_MAX_RESTART_SECONDS",
        "fail the run when any restart takes longer, from the acknowledged request to the "
        "conditions cleared (default: no limit)",
    ),
    Option(
        "--max-phase-seconds",
        "HARNESS_MAX_PHASE_SECONDS",
        f"PHASE=SECONDS, repeatable: fail the run when a restart phase takes longer; phases: "
        f"{', '.join(PHASES)}",
        repeatable=True,
    ),
)

# A wait longer than this (about 11 days) is a typo, and beyond what some timers accept.
LONGEST_WAIT = 1e6
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ApiTls:
    plaintext: bool = False
    insecure: bool = False
    ca_file: Path | None = None


SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Tests stand in a temporary directory for the pod's service-account mount.
SERVICE_ACCOUNT_DIR_ENV = "HARNESS_SERVICE_ACCOUNT_DIR"


@dataclass(frozen=True)
class InCluster:
    """Inside a pod: the API server from the service environment, the service account's token."""

    host: str
    port: str
    token_file: Path
    ca_file: Path
    namespace: str | None

    @property
    def environ(self) -> dict[str, str]:
        return {"KUBERNETES_SERVICE_HOST": self.host, "KUBERNETES_SERVICE_PORT": self.port}


def detect_in_cluster(environ: Mapping[str, str]) -> InCluster | None:
    """In-cluster settings when running in a pod (service host set, token mounted), else None."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    directory = Path(environ.get(SERVICE_ACCOUNT_DIR_ENV) or SERVICE_ACCOUNT_DIR)
    token_file = directory / "token"
    if not host or not port or not token_file.is_file():
        return None
    namespace_file = directory / "namespace"
    namespace = (
        namespace_file.read_bytes().decode("utf-8", "replace").strip()
        if namespace_file.is_file()
        else None
    )
    return InCluster(host, port, token_file, directory / "ca.crt", namespace or None)


@dataclass(frozen=True)
class Settings:
    target: str
    via: str
    profile: Profile
    control_plane: str
    kubeconfig: Path | None
    kube_context: str | None
    namespace: str
    tenant: str | None
    api_address: str | None
    api_token: str | None
    admin_token: str | None
    api_tls: ApiTls
    provision_timeout: float
    operator_liveness_timeout: float
    restart_timeout: float
    quiet_window: float
    state_dir: Path | None
    results_dir: Path | None = None
    # Restart latency limits in seconds per phase (`total`: the whole restart); empty: none.
    latency_limits: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    in_cluster: InCluster | None = None

    @property
    def embedded(self) -> bool:
        return self.target == "embedded"

    def connected_to(self, stack_env: Mapping[str, str]) -> Settings:
        """These settings pointed at a running embedded stack (the values of its env file)."""
        try:
            return replace(
                self,
                kubeconfig=Path(stack_env["KUBECONFIG"]),
                namespace=stack_env["HARNESS_NAMESPACE"],
                tenant=stack_env["HARNESS_TENANT"],
                api_address=stack_env["HARNESS_API_ADDRESS"],
                api_token=stack_env["HARNESS_API_TOKEN"],
                admin_token=stack_env["HARNESS_ADMIN_TOKEN"],
                api_tls=ApiTls(ca_file=Path(stack_env["HARNESS_API_CA"])),
            )
        except KeyError as missing:
            raise ConfigError(f"the embedded stack's env file lacks {missing}") from None


def describe(option: Option) -> str:
    return f"{option.flag} (or {option.env})"


class _Given(dict[str, Any]):
    """The raw values by flag, and where each came from (`sources`)."""

    def __init__(self, items: Mapping[str, Any], sources: dict[str, str]) -> None:
        super().__init__(items)
        self.sources = sources


def _named(values: Mapping[str, Any], flag: str) -> str:
    """What the user set for `flag`: the flag, or the variable its value came from."""
    option = _option(flag)
    source = getattr(values, "sources", {}).get(flag)
    if source == f"${option.env}":
        return option.env
    if source == flag:
        return flag
    return describe(option)


def _raw_values(
    flags: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[_Given, dict[str, str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        value = flags.get(option.flag)
        if value not in (None, False):
            values[option.flag] = value
            sources[option.flag] = option.flag
            continue
        env_value = environ.get(option.env)
        if env_value is not None and env_value != "":
            values[option.flag] = env_value
            sources[option.flag] = f"${option.env}"
        elif option.default is not None:
            values[option.flag] = option.default
            sources[option.flag] = "default"
    return _Given(values, sources), sources


def _option(flag: str) -> Option:
    return next(option for option in OPTIONS if option.flag == flag)


def _switch(values: Mapping[str, Any], flag: str) -> bool:
    value = values.get(flag)
    if value is None or value is False:
        return False
    if value is True:
        return True
    return parse_switch(str(value), _named(values, flag))


def parse_switch(text: str, named: str) -> bool:
    """A boolean variable's value: 1/true/yes/on or 0/false/no/off (any case), or empty for
    false; anything else is refused, naming the variable."""
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{named} must be true or false (1/0, yes/no, on/off), got {text!r}")


def _choice(values: Mapping[str, Any], flag: str) -> str:
    option = _option(flag)
    value = str(values[flag])
    if option.choices and value not in option.choices:
        raise ConfigError(
            f"{_named(values, flag)} must be one of {', '.join(option.choices)}, got {value!r}"
        )
    return value


def _seconds(values: Mapping[str, Any], flag: str, default: float) -> float:
    value = values.get(flag)
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_named(values, flag)} must be a number of seconds, got {value!r}"
        ) from None
    if not math.isfinite(seconds) or seconds > LONGEST_WAIT:
        raise ConfigError(
            f"{_named(values, flag)} must be a number of seconds up to {LONGEST_WAIT:g}, "
            f"got {value!r}"
        )
    if seconds <= 0:
        raise ConfigError(f"{_named(values, flag)} must be positive, got {value!r}")
    return seconds


def _latency_limits(values: Mapping[str, Any]) -> dict[str, float]:
    limits: dict[str, float] = {}
    if values.get("--max-restart-seconds") is not None:
        limits[TOTAL] = _seconds(values, "--max-restart-seconds", 0.0)
    raw = values.get("--max-phase-seconds")
    items = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    where = _named(values, "--max-phase-seconds")
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        phase, sep, seconds = item.partition("=")
        phase = phase.strip()
        if not sep or phase not in PHASES:
            raise ConfigError(
                f"{where} takes PHASE=SECONDS with PHASE one of {', '.join(PHASES)}, got {item!r}"
            )
        try:
            limit = float(seconds)
        except ValueError:
            limit = -1.0
        if not 0 < limit <= LONGEST_WAIT:
            raise ConfigError(f"{where}: {phase} needs a positive number of seconds, got {item!r}")
        limits[phase] = limit
    return limits


def _readable_file(values: Mapping[str, Any], flag: str) -> Path | None:
    value = values.get(flag)
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ConfigError(f"{_named(values, flag)}: no readable file at {path}")
    return path


def _token(values: Mapping[str, Any]) -> str | None:
    token_file = _readable_file(values, "--api-token-file")
    if token_file is not None:
        if values.get("--api-token") is not None:
            raise ConfigError("give either --api-token or --api-token-file, not both")
        named = _named(values, "--api-token-file")
        try:
            token = token_file.read_bytes().decode("utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{named}: cannot read {token_file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{named}: {token_file} is not a token (not UTF-8 text)") from None
        if not token:
            raise ConfigError(f"{named}: {token_file} is empty")
        return _bearer(named, token, f"the token in {token_file}")
    token = values.get("--api-token")
    return _bearer(_named(values, "--api-token"), str(token).strip()) if token else None


def _bearer(named: str, token: str, what: str = "the token") -> str:
    """A token that can go into an `authorization: Bearer` header (printable ASCII, one word),
    or one line saying it cannot, instead of a failure deep in the gRPC or HTTP library."""
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise ConfigError(
            f"{named}: {what} holds characters no bearer token has (spaces, control or "
            "non-ASCII characters)"
        )
    return token


CONNECTION_FLAGS = (
    "--tenant",
    "--kubeconfig",
    "--kube-context",
    "--api-address",
    "--api-token",
    "--api-token-file",
    "--admin-token",
    "--api-ca",
    "--api-insecure",
    "--api-plaintext",
)


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge flags over environment over defaults and validate every value."""
    environ = os.environ if environ is None else environ
    values, sources = _raw_values(flags, environ)
    target = _choice(values, "--target")
    profile = get_profile(_choice(values, "--profile"))
    embedded = target == "embedded"

    if embedded:
        # The embedded stack brings its own connection; environment variables left over from a
        # cluster run are ignored, but a connection flag given explicitly is a contradiction.
        given = [flag for flag in CONNECTION_FLAGS if sources.get(flag) == flag]
        if given:
            raise ConfigError(
                f"{', '.join(given)} applies to --target cluster; the embedded stack "
                "brings its own connection"
            )
        values = _Given(
            {flag: value for flag, value in values.items() if flag not in CONNECTION_FLAGS}, sources
        )
    kubeconfig = _readable_file(values, "--kubeconfig")
    # Inside a pod with no kubeconfig given, the pod's service account is the identity, for the
    # Kubernetes API and (unless a token is given) for the fulfillment API, which accepts it.
    in_cluster = None if embedded or kubeconfig else detect_in_cluster(environ)
    api_token = _token(values)
    if in_cluster is not None and api_token is None:
        mounted = in_cluster.token_file.read_bytes().decode("utf-8", "replace").strip()
        api_token = _bearer("the service account token", mounted) if mounted else None
        sources["--api-token"] = f"service account token {in_cluster.token_file}"

    tls = ApiTls(
        plaintext=_switch(values, "--api-plaintext"),
        insecure=_switch(values, "--api-insecure"),
        ca_file=_readable_file(values, "--api-ca"),
    )
    if tls.plaintext and (tls.insecure or tls.ca_file):
        raise ConfigError("--api-plaintext cannot be combined with --api-insecure or --api-ca")
    if tls.insecure and tls.ca_file:
        raise ConfigError("--api-insecure and --api-ca exclude each other")

    address = values.get("--api-address")
    if address is not None:
        address = str(address).strip()
        _check_address(address, _named(values, "--api-address"))

    settings = Settings(
        target=target,
        via=_choice(values, "--via"),
        profile=profile,
        control_plane=_choice(values, "--control-plane"),
        kubeconfig=kubeconfig,
        kube_context=values.get("--kube-context"),
        namespace=_namespace(values) or profile.hub_namespace,
        tenant=values.get("--tenant"),
        api_address=address,
        api_token=api_token,
        admin_token=(
            _bearer(_named(values, "--admin-token"), str(values["--admin-token"]).strip())
            if values.get("--admin-token")
            else None
        ),
        api_tls=tls,
        provision_timeout=_seconds(values, "--provision-timeout", 60.0 if embedded else 900.0),
        operator_liveness_timeout=_seconds(
            values, "--operator-liveness-timeout", 15.0 if embedded else 60.0
        ),
        restart_timeout=_seconds(values, "--restart-timeout", 60.0 if embedded else 300.0),
        quiet_window=_seconds(values, "--quiet-window", 2.0 if embedded else 10.0),
        state_dir=_directory(values, "--state-dir"),
        results_dir=_directory(values, "--results-dir"),
        latency_limits=_latency_limits(values),
        sources=sources,
        in_cluster=in_cluster,
    )
    if not embedded:
        if (
            sources.get("--control-plane") == "--control-plane"
            and settings.control_plane != "embedded"
        ):
            raise ConfigError(
                "--control-plane applies to --target embedded: with "
                "--target cluster the harness starts no stack"
            )
        _require_cluster_connection(settings)
    return settings


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _namespace(values: Mapping[str, Any]) -> str | None:
    value = values.get("--namespace")
    if value is None:
        return None
    text = str(value)
    if len(text) > 63 or not _DNS_LABEL.fullmatch(text):
        raise ConfigError(
            f"{_named(values, '--namespace')} must be a Kubernetes namespace name (lower-case "
            f"letters, digits and '-', at most 63), got {text!r}"
        )
    return text


def _directory(values: Mapping[str, Any], flag: str) -> Path | None:
    """A directory the harness may create or use: not a file, nor inside one."""
    value = values.get(flag)
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                what = "is" if place == path else f"is inside {place}, which is"
                raise ConfigError(f"{_named(values, flag)}: {path} {what} not a directory")
            break
    return path


def _check_address(address: str, named: str) -> None:
    host, sep, port = address.rpartition(":")
    valid_port = port.isascii() and port.isdigit() and 0 < int(port) < 65536
    if not sep or not host.strip() or not valid_port or not address.isprintable():
        raise ConfigError(f"{named} must be host:port, got {address!r}")


def _require_cluster_connection(settings: Settings) -> None:
    if settings.kubeconfig is None and settings.in_cluster is None:
        default = Path.home() / ".kube" / "config"
        if not default.is_file():
            raise ConfigError(
                "--target cluster needs a kubeconfig: pass --kubeconfig or set KUBECONFIG "
                "(for a running `python -m harness up`: set -a; . .harness/env; set +a)"
            )
    if settings.via == "cr":
        if not settings.tenant:
            raise ConfigError(
                f"--via cr creates CRs itself and needs their tenant: pass "
                f"{describe(_option('--tenant'))}"
            )
        return
    if not settings.api_address:
        raise ConfigError(
            f"--target cluster needs the fulfillment API: pass {describe(_option('--api-address'))}"
            " (or test the operator alone with --via cr)"
        )
    if not settings.api_token:
        raise ConfigError(
            "--target cluster needs an API token: pass --api-token, --api-token-file or set "
            "HARNESS_API_TOKEN (e.g. kubectl create token <service-account>)"
        )
