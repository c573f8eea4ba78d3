"""Start and stop the whole embedded system under test; hand back connection settings.

The one door from the client side into `harness.reference`: `run_foreground()` backs
`python -m harness up`, and `launch()` runs that same command as a child process for the pytest
plugin, returning the settings from the env file it writes. Everything else about how the stack
is made stays behind this module.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.contract.profiles import DEFAULT_PROFILE, REFERENCE_PROVIDER, Profile, get_profile
from harness.filewrites import is_disk_trouble, reason, write_atomic
from harness.ownership import DirectoryBusy, hold
from harness.reference.controlplane.binaries import BuildError, ensure_built
from harness.reference.envfile import EnvFileError, format_env, read_env
from harness.reference.forking import can_fork, preload
from harness.reference.gobuild import CacheDirError
from harness.reference.grpcurl import ensure_grpcurl
from harness.reference.installation import admin_subjects, environment_objects, operator_user
from harness.reference.process import ComponentError, ComponentProcess
from harness.reference.runtime import die_with_parent

if TYPE_CHECKING:
    from harness.reference.controlplane.container_log import ContainerLog

TENANT = "tenant-harness"
READY_TIMEOUT = 60.0


class StackError(RuntimeError):
    """The embedded stack could not start or died; the message says which part and why."""


class StackInputError(StackError):
    """What the user gave cannot be used (a state directory in use or unwritable, a missing
    CRD file): bad input, not a broken environment."""


@dataclass(frozen=True)
class StackOptions:
    """How to build one embedded stack.

    Who fills it: `python -m harness up` sets every field but `fork_components` from its flags
    (`harness/commands/cli.py`); the pytest plugin (`harness/plugin/configure.py`) and
    `harness doctor --target embedded` set `state_dir` and `profile` from the harness settings
    (`harness/config.py`); `harness mutants` sets `state_dir`, `profile` and `controller`.
    `launch()` runs `harness up` in a child process and passes on `state_dir`, `profile`,
    `controller`, `faults` and `fault_seed` only: the other fields take effect through
    `EmbeddedStack` or `run_foreground()`, and are at their defaults under `launch()`.
    """

    state_dir: Path
    """Where the stack writes its kubeconfigs, `env`, `stack.json`, token and TLS files and
    `logs/`. Required. `harness up --state-dir` (default `.harness`); the plugin and the doctor:
    `--state-dir` / `HARNESS_STATE_DIR` (the plugin adds one folder per xdist worker), else a
    fresh temporary directory; `harness mutants`: `<--state-dir>/<reference or mutant>/stack`."""

    profile: str = DEFAULT_PROFILE
    """Naming era of the stack (`harness.contract.profiles`). Default `osac`.
    `harness up --profile`; the plugin and the doctor: `--profile` / `HARNESS_PROFILE`;
    `harness mutants --profile`."""

    controller: str = "reference"
    """The operator to run: `reference`, `none` (an external controller is the system under
    test) or `mutant:NAME` (a deliberately broken variant). Default `reference`.
    `harness up --controller` (`--no-controller` for `none`); `harness mutants` runs each."""

    faults: tuple[str, ...] = ()
    """`--fault` specs (grammar: `harness/contract/fault_specs.py`), each handed to the
    component it names. Default none. `harness up --fault` (repeatable)."""

    fault_seed: int = 0
    """Seed of every injected fault's random draws, so a run is repeatable. Default 0.
    `harness up --fault-seed`."""

    extra_crds: tuple[Path, ...] = ()
    """CRD files the API server serves besides the project's own, e.g. an operator's real CRD.
    Default none. `harness up --crd` (repeatable)."""

    host: str = "127.0.0.1"
    """Address every component binds. Default loopback. `harness up --host`."""

    kube_port: int = 0
    """The API server's port; 0 picks a free one. Default 0. `harness up --kube-port`."""

    api_port: int = 0
    """The fulfillment API's port; 0 picks a free one. Default 0. `harness up --api-port`."""

    boot_delay: float = 0.3
    """Seconds a simulated VMI takes from Pending to Running. Default 0.3.
    `harness up --boot-delay`; for selected VMs, the fault `kubevirt:boot-delay=…`."""

    shutdown_delay: float = 0.2
    """Seconds a deleted simulated VMI takes to shut down. Default 0.2.
    `harness up --shutdown-delay`."""

    provision_delay: float = 0.2
    """Seconds the reference provisioner takes before it creates or updates a VM. Default 0.2.
    `harness up --provision-delay`."""

    provider: str = REFERENCE_PROVIDER
    """How the reference controller's jobs read in `status.jobs` under a profile with jobs:
    `reference` (the default: ids `ref-N`, the jobs' own states), or `eda` / `aap` (ids, states
    and messages as that provider of the operator records them; the operator Deployment then
    names it in `<PREFIX>PROVISIONING_PROVIDER`). `harness up --provider`."""

    verbose: bool = False
    """Debug logs from every component (in `<state_dir>/logs/`). Default off.
    `harness up -v` / `--verbose`."""

    control_plane: str = "embedded"
    """The API server the components use: `embedded` (the harness's own, the default) or `real`
    (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the cached
    build: `python -m harness build-control-plane`). `harness up --control-plane`; the plugin:
    `--control-plane` / `HARNESS_CONTROL_PLANE`."""

    fork_components: bool = True
    """Import the official Kubernetes client once while the API server starts, then fork the
    components that use it from this warm process (`harness.reference.forking`); False spawns
    a fresh interpreter for each (the baseline `bench/stack_startup.py` compares with). The
    stack spawns anyway where forking is unsafe. Default True. No flag: set in code only."""


@dataclass(frozen=True)
class Identity:
    name: str
    user: str
    token: str = field(default_factory=lambda: secrets.token_hex(24))


def _identities(profile: Profile) -> dict[str, Identity]:
    return {
        "harness": Identity("harness", "system:serviceaccount:harness:e2e"),
        "controller": Identity("controller", operator_user(profile)),
        "kubevirt": Identity("kubevirt", "system:serviceaccount:kubevirt:kubevirt-controller"),
        "fulfillment": Identity(
            "fulfillment", f"system:serviceaccount:{profile.hub_namespace}:fulfillment-controller"
        ),
    }


def _kubeconfig(url: str, identity: Identity, authority: str | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": url}
    if authority:
        cluster["certificate-authority-data"] = authority
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "embedded", "cluster": cluster}],
        "users": [{"name": identity.name, "user": {"token": identity.token}}],
        "contexts": [
            {"name": "embedded", "context": {"cluster": "embedded", "user": identity.name}}
        ],
        "current-context": "embedded",
    }


def seed_objects(profile: Profile, tenant_phase: str = "Ready") -> list[dict[str, Any]]:
    """Hub and tenant namespaces, and the Tenant the reference operator needs (ready by default)."""
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in (profile.hub_namespace, TENANT)
    ]
    tenant = {
        "apiVersion": profile.api_version,
        "kind": "Tenant",
        "metadata": {"name": TENANT, "namespace": profile.hub_namespace},
        "spec": {},
        "status": {"phase": tenant_phase, "namespace": TENANT, "storageClass": "standard"},
    }
    return [*namespaces, tenant]


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    return obj["kind"], metadata.get("namespace", ""), metadata["name"]


def check_crd_file(path: Path) -> None:
    """`--crd PATH`: YAML text whose every document is a CustomResourceDefinition, or one line
    saying what it is instead (before anything starts)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise StackInputError(f"--crd {path}: no such file") from None
    except IsADirectoryError:
        raise StackInputError(f"--crd {path}: is a directory, not a file") from None
    except OSError as error:
        raise StackInputError(f"--crd {path}: cannot read it: {reason(error)}") from None
    except UnicodeDecodeError:
        raise StackInputError(f"--crd {path}: not a YAML file (not UTF-8 text)") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StackInputError(f"--crd {path}: not valid YAML: {first}") from None
    if not documents:
        raise StackInputError(f"--crd {path}: holds no document")
    for index, document in enumerate(documents, 1):
        kind = document.get("kind") if isinstance(document, dict) else None
        if kind != "CustomResourceDefinition":
            raise StackInputError(
                f"--crd {path}: document {index} is not a CustomResourceDefinition"
                + (f" (kind {kind})" if isinstance(kind, str) else "")
            )


def check_host(host: str) -> None:
    """`--host`: an address of this machine the stack can listen on."""
    if not host.strip():
        raise StackInputError("--host is empty; give an address of this machine, e.g. 127.0.0.1")
    try:
        with socket.create_server((host, 0)):
            pass
    except OSError as error:
        why = reason(error).split(" (while attempting", 1)[0]
        raise StackInputError(f"--host {host}: cannot listen there: {why}") from None


def _write_private(path: Path, text: str) -> None:
    """Owner-only, and atomic: a component waiting for the file never reads half of it."""
    write_atomic(path, text, mode=0o600)


class EmbeddedStack:
    """The component processes of one stack, started in dependency order."""

    def __init__(self, options: StackOptions, log: Callable[[str], None] = lambda _: None) -> None:
        self.options = options
        self.profile = get_profile(options.profile)
        self.log = log
        self.state_dir = options.state_dir.resolve()
        self.components: list[ComponentProcess] = []
        self._held = contextlib.ExitStack()  # the state directory, while this stack runs
        self.env: dict[str, str] = {}
        self.control_plane: Any = None  # a RealControlPlane with --control-plane real
        # With --control-plane real: the fulfillment API's port, held until it serves, the
        # tokens minted for its callers, and the operator's container log.
        self._api_port: socket.socket | None = None
        self._api_tokens: dict[str, str] = {}
        self._container_logs: list[ContainerLog] = []

    def _component(
        self, name: str, args: list[str], fork: bool = False, pass_fds: tuple[int, ...] = ()
    ) -> ComponentProcess:
        process = ComponentProcess(
            name,
            f"harness.reference.{name}",
            args,
            self.state_dir / "logs" / f"{name}.log",
            fork=fork,
            pass_fds=pass_fds,
        )
        self.components.append(process)
        process.start()
        return process

    def start(self) -> dict[str, str]:
        options = self.options
        for path in options.extra_crds:
            check_crd_file(path)
        check_host(options.host)
        try:
            return self._start()
        except OSError as error:
            if not is_disk_trouble(error):
                raise
            where = error.filename or self.state_dir
            raise StackError(f"cannot write {where}: {reason(error)}") from None

    def _start(self) -> dict[str, str]:
        from harness.reference.crds import crd_paths, environment_crd_paths
        from harness.reference.tls import write_server_certificate

        options, profile, state = self.options, self.profile, self.state_dir
        try:
            state.mkdir(parents=True, exist_ok=True)
            # Before anything is written: a second stack must not overwrite a running one's
            # env file, kubeconfigs and tokens.
            self._held.enter_context(hold(state, "harness up", "state dir"))
            (state / "logs").mkdir(exist_ok=True)
        except DirectoryBusy as error:
            raise StackInputError(str(error)) from None
        except OSError as error:
            if is_disk_trouble(error):  # the disk's doing, not the name's
                raise StackError(f"state dir {state}: {reason(error)}") from None
            raise StackInputError(f"--state-dir {state}: {reason(error)}") from None
        identities = _identities(profile)
        verbose = ["-v"] if options.verbose else []

        # The webhook's socket is bound here so its URL can go into the seed at once, while the
        # endpoint starts alongside the API server.
        with socket.create_server((options.host, 0)) as listener:
            webhook = self._component(
                "webhook",
                ["--listen-fd", str(listener.fileno()), *verbose],
                pass_fds=(listener.fileno(),),
            )
            webhook_url = f"http://{options.host}:{listener.getsockname()[1]}"
        admin_subject = f"system:serviceaccount:{profile.hub_namespace}:admin"
        user_subject = f"system:serviceaccount:{TENANT}:e2e"
        with_operator = options.controller != "none"
        seeds = [
            *seed_objects(profile),
            *environment_objects(
                profile, webhook_url, [admin_subject], with_operator, provider=options.provider
            ),
        ]
        (state / "seed.yaml").write_text(yaml.safe_dump_all(seeds))
        _write_private(
            state / "kube-tokens.json",
            json.dumps(
                {
                    "tokens": [
                        {"token": identity.token, "user": identity.user}
                        for identity in identities.values()
                    ]
                }
            ),
        )
        crds = [*crd_paths(profile), *environment_crd_paths(), *options.extra_crds]
        started = time.monotonic()
        if options.control_plane == "real":
            url, authority, identities = self._start_real(
                identities, crds, seeds, [user_subject, admin_subject]
            )
            apiserver = None
        else:
            authority = ""
            apiserver = self._start_embedded(crds)
        ca, cert, key = write_server_certificate(state / "tls", [options.host, "localhost"])
        if self._api_tokens:  # the real control plane's: TokenRequest, checked by TokenReview
            user_token = self._api_tokens[user_subject]
            admin_token = self._api_tokens[admin_subject]
        else:
            # Hex, never a leading "-": a token passed as `--api-token X` would read as a flag.
            user_token, admin_token = secrets.token_hex(24), secrets.token_hex(24)
            _write_private(
                state / "api-tokens.json",
                json.dumps(
                    {
                        "tokens": [
                            {
                                "token": user_token,
                                "subject": user_subject,
                                "admin": False,
                                "tenant": TENANT,
                            },
                            {
                                "token": admin_token,
                                "subject": admin_subject,
                                "admin": True,
                                "tenant": TENANT,
                            },
                        ]
                    }
                ),
            )
        fork = options.fork_components and can_fork()
        if fork:
            preload()
        if apiserver is not None:
            ready = self._ready(apiserver)
            url, authority = ready["url"], ready.get("certificate_authority_data")
        if authority:
            (state / "tls" / "kubernetes-ca.crt").write_bytes(base64.b64decode(authority))
        for identity in identities.values():
            path = state / (
                "kubeconfig" if identity.name == "harness" else f"{identity.name}.kubeconfig"
            )
            _write_private(path, yaml.safe_dump(_kubeconfig(url, identity, authority)))
        api_admins = admin_subjects(profile, [admin_subject], with_operator)
        kubevirt, controller, fulfillment = self._start_clients(cert, key, fork, api_admins)
        api_address = self._ready(fulfillment)["address"]
        if self._api_port is not None:
            self._api_port.close()
        self._ready(kubevirt)
        if controller is not None:
            self._ready(controller)
        self._ready(webhook)
        if self.control_plane is not None:
            self._await_workloads()

        self.env = {
            "KUBECONFIG": str(state / "kubeconfig"),
            "HARNESS_PROFILE": profile.name,
            "HARNESS_NAMESPACE": profile.hub_namespace,
            "HARNESS_TENANT": TENANT,
            "HARNESS_API_ADDRESS": api_address,
            "HARNESS_API_TOKEN": user_token,
            "HARNESS_ADMIN_TOKEN": admin_token,
            "HARNESS_API_CA": str(ca),
        }
        _write_private(state / "env", format_env(self.env))
        (state / "stack.json").write_text(
            json.dumps(
                {
                    "profile": profile.name,
                    "kubernetes_url": url,
                    "api_address": api_address,
                    "controller": options.controller,
                    "control_plane": options.control_plane,
                    "pids": {c.name: c.pid for c in self.components},
                    "startup_seconds": round(time.monotonic() - started, 3),
                },
                indent=2,
            )
        )
        return self.env

    def _start_embedded(self, crds: list[Path]) -> ComponentProcess:
        options, state = self.options, self.state_dir
        verbose = ["-v"] if options.verbose else []
        return self._component(
            "apiserver",
            [
                "--host",
                options.host,
                "--port",
                str(options.kube_port),
                *[arg for crd in crds for arg in ("--crd", str(crd))],
                "--seed",
                str(state / "seed.yaml"),
                "--tokens",
                str(state / "kube-tokens.json"),
                "--request-log",
                str(state / "logs" / "apiserver-requests.jsonl"),
                *self._faults("apiserver"),
                *verbose,
            ],
        )

    def _start_real(
        self,
        identities: dict[str, Identity],
        crds: list[Path],
        seeds: list[dict[str, Any]],
        api_callers: list[str],
    ) -> tuple[str, str, dict[str, Identity]]:
        """The real control plane, the CRDs and objects installed through its API, and each
        component as its own ServiceAccount with least-privilege RBAC and a token minted through
        TokenRequest; the harness is a static token. The fulfillment API and the operator are
        workloads whose simulated pods stand for the local processes (`workloads`), and each of
        `api_callers` gets a ServiceAccount and a token for the fulfillment API. Returns the
        URL, the CA (base64) and the identities with their tokens."""
        from kubernetes import client as kube_client
        from kubernetes import config as kube_config

        from harness.reference.controlplane.binaries import NotBuilt, find_built
        from harness.reference.controlplane.container_log import ContainerLog
        from harness.reference.controlplane.control_plane import (
            ControlPlaneError,
            ControlPlaneOptions,
            RealControlPlane,
        )
        from harness.reference.controlplane.install import Installer, InstallError
        from harness.reference.controlplane.permissions import access_objects, mint_token
        from harness.reference.controlplane.workloads import api_objects, kwok_config, reserve_port

        if self._faults("apiserver"):
            raise StackError("--fault apiserver:… needs the embedded API server")
        try:
            binaries = find_built()
        except NotBuilt as error:
            raise StackError(str(error)) from None
        host = self.options.host
        try:
            self._api_port = reserve_port(host, self.options.api_port)
        except OSError as error:
            raise StackInputError(
                f"--api-port {self.options.api_port}: cannot listen there: {reason(error)}"
            ) from None
        operator_log = self.state_dir / "containers" / "operator-manager.log"
        plane = RealControlPlane(
            binaries,
            ControlPlaneOptions(
                state_dir=self.state_dir / "controlplane",
                host=host,
                kwok_config=kwok_config(
                    self.profile, host, self._api_port.getsockname()[1], operator_log
                ),
            ),
        )
        self.control_plane = plane
        harness = identities["harness"]
        plane.add_token(harness.user, ["system:masters"], token=harness.token)
        components = {name: i.user for name, i in identities.items() if name != "harness"}
        seeded = {_key(obj) for obj in seeds}
        access = [
            obj for obj in access_objects(self.profile, components) if _key(obj) not in seeded
        ]
        try:
            url = plane.start()
            api_client = kube_config.new_client_from_config(str(plane.kubeconfig))
            installer = Installer(api_client)
            installer.crds(crds)
            workloads = api_objects(self.profile, identities["fulfillment"].user, api_callers)
            everything = [*access, *seeds, *workloads]
            namespaces = [obj for obj in everything if obj["kind"] == "Namespace"]
            installer.objects([*namespaces, *(o for o in everything if o["kind"] != "Namespace")])
            minted = {
                name: replace(identity, token=mint_token(api_client, identity.user))
                for name, identity in identities.items()
                if name != "harness"
            }
            self._api_tokens = {caller: mint_token(api_client, caller) for caller in api_callers}
            api_client.close()
        except (ControlPlaneError, InstallError) as error:
            raise StackError(str(error)) from None
        except kube_client.ApiException as error:
            raise StackError(f"minting the components' tokens failed: {error.reason}") from None
        if self.options.controller != "none":
            # The operator pod's container log: what the controller writes from now on.
            log = ContainerLog(self.state_dir / "logs" / "controller.log", operator_log, self.log)
            self._container_logs.append(log.start())
        authority = base64.b64encode(plane.ca_file.read_bytes()).decode()
        return url, authority, {**identities, **minted}

    def _await_workloads(self) -> None:
        """The control plane's Deployments run their pods (kwok reports them Running) before
        the stack says it is ready: `kubectl port-forward` needs a running pod."""
        from kubernetes import config as kube_config

        from harness.reference.controlplane.install import InstallError, wait_available
        from harness.reference.controlplane.workloads import API_SERVICE

        profile = self.profile
        deployments = [(profile.hub_namespace, API_SERVICE)]
        if self.options.controller != "none":
            deployments.append((profile.operator_namespace, profile.operator_deployment))
        api_client = kube_config.new_client_from_config(str(self.control_plane.kubeconfig))
        try:
            for namespace, name in deployments:
                wait_available(api_client, namespace, name, READY_TIMEOUT)
        except InstallError as error:
            raise StackError(str(error)) from None
        finally:
            api_client.close()

    def _start_clients(
        self, cert: Path, key: Path, fork: bool, api_admins: list[str]
    ) -> tuple[ComponentProcess, ComponentProcess | None, ComponentProcess]:
        """KubeVirt sim, controller (unless external) and fulfillment API, not yet ready. On the
        real control plane KubeVirt runs launcher pods and the API asks TokenReview who calls,
        letting `api_admins` call its private methods."""
        options, profile, state = self.options, self.profile, self.state_dir
        verbose = ["-v"] if options.verbose else []
        real = self.control_plane is not None
        api_port = self._api_port.getsockname()[1] if self._api_port else options.api_port
        if real:
            who = ["--token-review", *(f"--admin-subject={s}" for s in api_admins)]
            who += ["--tenant", TENANT]
        else:
            who = ["--tokens", str(state / "api-tokens.json")]
        kubevirt = self._component(
            "kubevirt",
            [
                "--kubeconfig",
                str(state / "kubevirt.kubeconfig"),
                "--boot-delay",
                str(options.boot_delay),
                "--shutdown-delay",
                str(options.shutdown_delay),
                *(["--launcher-pods"] if real else []),
                *self._faults("kubevirt"),
                *verbose,
            ],
            fork,
        )
        controller = None
        if options.controller != "none":
            mutant = options.controller.partition("mutant:")[2]
            controller = self._component(
                "controller",
                [
                    "--kubeconfig",
                    str(state / "controller.kubeconfig"),
                    "--profile",
                    profile.name,
                    "--namespace",
                    profile.hub_namespace,
                    "--tenant-namespace",
                    profile.hub_namespace,
                    "--provision-delay",
                    str(options.provision_delay),
                    "--provider",
                    options.provider,
                    *(["--mutant", mutant] if mutant else []),
                    *verbose,
                ],
                fork,
            )
        fulfillment = self._component(
            "fulfillment",
            [
                "--kubeconfig",
                str(state / "fulfillment.kubeconfig"),
                "--profile",
                profile.name,
                "--host",
                options.host,
                "--port",
                str(api_port),
                "--hub-namespace",
                profile.hub_namespace,
                *who,
                "--tls-cert",
                str(cert),
                "--tls-key",
                str(key),
                *self._faults("fulfillment"),
                *verbose,
            ],
            fork,
        )
        return kubevirt, controller, fulfillment

    def _faults(self, component: str) -> list[str]:
        """`--fault SPEC` for each spec addressed to `component`, and the shared seed."""
        specs = [
            spec for spec in self.options.faults if spec.partition(":")[0].strip() == component
        ]
        if not specs:
            return []
        args = [arg for spec in specs for arg in ("--fault", spec)]
        return [*args, "--fault-seed", str(self.options.fault_seed)]

    def _ready(self, component: ComponentProcess) -> dict[str, Any]:
        try:
            return component.wait_ready(READY_TIMEOUT)
        except ComponentError as error:
            raise StackError(str(error)) from None

    def dead_component(self) -> ComponentProcess | None:
        return next((c for c in self.components if c.poll() is not None), None)

    def stop(self, grace: float = 5.0) -> None:
        """The API server's clients all at once (each shuts down on its own), then the server."""
        clients = [c for c in reversed(self.components) if c.name != "apiserver"]
        for component in clients:
            component.terminate()
        for component in clients:
            component.stop(grace)
        for component in self.components:
            if component.name == "apiserver":
                component.stop(grace)
        for log in self._container_logs:
            log.stop()
        if self._api_port is not None:
            self._api_port.close()
        if self.control_plane is not None:
            self.control_plane.stop()
        self._held.close()


def run_foreground(
    options: StackOptions, announce: Callable[[dict[str, Any]], None], log: Callable[[str], None]
) -> int:
    """`harness up`: start, announce, supervise until SIGINT/SIGTERM or a component dies."""
    die_with_parent()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = EmbeddedStack(options, log)
    # A stack that lost a component is broken: its survivors need no orderly goodbye.
    grace = 5.0
    try:
        env = stack.start()
        announce(
            {
                "profile": stack.profile.name,
                "state_dir": str(stack.state_dir),
                "env": str(stack.state_dir / "env"),
                "kubeconfig": env["KUBECONFIG"],
                "api_address": env["HARNESS_API_ADDRESS"],
                "controller": options.controller,
                "control_plane": options.control_plane,
            }
        )
        while not stop.wait(0.5):
            dead = stack.dead_component()
            if dead is not None:
                log(
                    f"{dead.name} exited with code {dead.poll()}; stopping the stack. "
                    f"Last lines of {dead.log_path}:\n{dead.log_tail()}"
                )
                grace = 1.0
                return 3
            gone = stack.control_plane.dead_process() if stack.control_plane else None
            if gone is not None:
                log(f"{gone.failure()}; stopping the stack")
                grace = 1.0
                return 3
        return 0
    finally:
        stack.stop(grace)


class BackgroundStack:
    """`python -m harness up` as a child process, for the pytest plugin."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        args = [
            "up",
            "--state-dir",
            str(options.state_dir),
            "--profile",
            options.profile,
            "--controller",
            options.controller,
            "--control-plane",
            options.control_plane,
            "--fault-seed",
            str(options.fault_seed),
            "--provider",
            options.provider,
            "--provision-delay",
            str(options.provision_delay),
        ]
        for spec in options.faults:
            args += ["--fault", spec]
        self.process = ComponentProcess(
            "stack", "harness", args, options.state_dir / "logs" / "stack.log"
        )

    def begin(self) -> None:
        """Spawn `harness up` without waiting for it; `start()` then waits."""
        if self.process.pid is None:
            self.process.start()

    def start(self) -> dict[str, str]:
        self.begin()
        try:
            self.process.wait_ready(READY_TIMEOUT * 2)
        except ComponentError as error:
            self.process.stop()
            raise StackError(str(error)) from None
        try:
            return read_env(self.options.state_dir / "env")
        except EnvFileError as error:
            self.process.stop()
            raise StackError(str(error)) from None

    def stop(self) -> None:
        self.process.stop(grace=15.0)

    def poll(self) -> int | None:
        """`harness up`'s exit code once it has ended (it ends when a component dies)."""
        return self.process.poll()

    def log_text(self) -> str:
        try:
            return self.process.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def log_location(self) -> str:
        return str(self.process.log_path)


ToolBuildError = BuildError  # a Go tool (the control plane, grpcurl) could not be built
ToolCacheError = CacheDirError  # the cache directory a variable names cannot be one
ControlPlaneBuildError = ToolBuildError


def build_control_plane(log: Callable[[str], None]) -> Path:
    """`harness build-control-plane`: the real control plane's binaries, built once per pin;
    returns their cache directory."""
    return ensure_built(log).directory


def build_grpcurl(log: Callable[[str], None]) -> Path:
    """`harness build-grpcurl`: grpcurl, the tests' third-party gRPC client, built once per
    pin; returns the binary."""
    return ensure_grpcurl(log)


def launch(options: StackOptions) -> BackgroundStack:
    return BackgroundStack(options)
