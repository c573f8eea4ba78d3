"""The control plane's binaries: built once from `tools/controlplane/`, cached by their pins.

Each Go module under `tools/controlplane/` requires one upstream project at a pinned version
(k8s.io/kubernetes with its staging modules replaced by their published versions, etcd's
server module, kwok); `go build` turns its main packages into binaries. The cache key is a
hash of those go.mod/go.sum files, the Go version and the build flags, so a new pin builds
anew and an unchanged one is reused: `ensure_built()` a second time is a no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parents[3] / "tools" / "controlplane"
CACHE_ENV = "HARNESS_CONTROL_PLANE_CACHE"
FORMAT = "1"  # bump when what a cache entry holds changes
KUBERNETES_MODULE = "k8s.io/kubernetes"
KWOK_MODULE = "sigs.k8s.io/kwok"
# kwok's own stage definitions (node Ready, pod Running, pod deletion), shipped in its module.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


class BuildError(RuntimeError):
    """The control plane could not be built; the message says which step and why."""


class NotBuilt(RuntimeError):
    """No cached build for the current pins; the message gives the command that makes one."""


@dataclass(frozen=True)
class Target:
    binary: str
    module_dir: str  # under tools/controlplane/
    package: str


TARGETS = (
    Target("kube-apiserver", "kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver"),
    Target(
        "kube-controller-manager", "kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager"
    ),
    Target("kube-scheduler", "kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler"),
    Target("etcd", "etcd", "go.etcd.io/etcd/server/v3"),
    Target("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
)


@dataclass(frozen=True)
class Binaries:
    """A complete cache entry."""

    directory: Path

    def path(self, binary: str) -> Path:
        return self.directory / "bin" / binary

    @property
    def kwok_stages(self) -> Path:
        return self.directory / "kwok-stages.yaml"

    @property
    def manifest(self) -> dict[str, object]:
        return dict(json.loads((self.directory / "manifest.json").read_text()))


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "osac-harness" / "controlplane"


def pinned_version(module_dir: str, module: str, tools: Path = TOOLS_DIR) -> str:
    """The version `tools/controlplane/<module_dir>/go.mod` requires of `module`."""
    text = (tools / module_dir / "go.mod").read_text()
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
    if not found:
        raise BuildError(f"{tools / module_dir / 'go.mod'} requires no {module}")
    return found.group(1)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "no `go` on PATH: the real control plane is built from its Go modules "
            "(Go 1.26 or newer, with the Go module proxy)"
        )
    return go


def _go_env(go: str) -> str:
    result = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"`go env` failed: {result.stderr.strip()}")
    return " ".join(result.stdout.split())


def _ldflags(target: Target, tools: Path) -> str:
    flags = ["-s", "-w"]
    if target.module_dir == "kubernetes":
        # What the upstream release build stamps, so /version and `kubectl version` tell the pin.
        version = pinned_version("kubernetes", KUBERNETES_MODULE, tools)
        major, minor = version.lstrip("v").split(".")[:2]
        for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {package}.gitVersion={version}",
                f"-X {package}.gitMajor={major}",
                f"-X {package}.gitMinor={minor}",
                f"-X {package}.gitTreeState=clean",
            ]
    return " ".join(flags)


def cache_key(tools: Path = TOOLS_DIR, go_env: str | None = None) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    digest.update((go_env if go_env is not None else _go_env(_go())).encode())
    for module_dir in sorted({target.module_dir for target in TARGETS}):
        for name in ("go.mod", "go.sum"):
            path = tools / module_dir / name
            digest.update(f"{module_dir}/{name}\0".encode())
            digest.update(path.read_bytes() if path.is_file() else b"")
    for target in TARGETS:
        digest.update(f"{target.binary} {target.package} {_ldflags(target, tools)}\0".encode())
    return digest.hexdigest()[:16]


def find_built(tools: Path = TOOLS_DIR) -> Binaries:
    """The cached build for the current pins, or NotBuilt saying how to make it."""
    entry = cache_root() / cache_key(tools)
    if not (entry / "manifest.json").is_file():
        raise NotBuilt(
            f"the real control plane is not built for the current pins (no {entry}): run "
            "`python -m harness build-control-plane` (a cold build takes minutes)"
        )
    return Binaries(entry)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One build at a time per cache: a second caller waits, then finds the first's result."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_built(log: Callable[[str], None] = lambda _: None, tools: Path = TOOLS_DIR) -> Binaries:
    """Build every binary into the cache unless this pin's entry is complete already."""
    go = _go()
    key = cache_key(tools, _go_env(go))
    root = cache_root()
    entry = root / key
    if (entry / "manifest.json").is_file():
        return Binaries(entry)
    with _locked(root):
        if (entry / "manifest.json").is_file():
            return Binaries(entry)
        started = time.monotonic()
        partial = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            _build(go, tools, partial, log)
            seconds = round(time.monotonic() - started, 1)
            manifest = {
                "key": key,
                "go": _go_env(go),
                "kubernetes": pinned_version("kubernetes", KUBERNETES_MODULE, tools),
                "etcd": pinned_version("etcd", "go.etcd.io/etcd/server/v3", tools),
                "kwok": pinned_version("kwok", KWOK_MODULE, tools),
                "build_seconds": seconds,
            }
            (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            os.replace(partial, entry)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        log(f"built the control plane in {seconds:.0f} s into {entry}")
        return Binaries(entry)


def _build(go: str, tools: Path, out: Path, log: Callable[[str], None]) -> None:
    (out / "bin").mkdir(parents=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -trimpath"}
    for target in TARGETS:
        log(f"building {target.binary} ({target.package})")
        command = [
            go,
            "build",
            f"-ldflags={_ldflags(target, tools)}",
            "-o",
            str(out / "bin" / target.binary),
            target.package,
        ]
        result = subprocess.run(
            command,
            cwd=tools / target.module_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            raise BuildError(f"building {target.binary} failed:\n{tail}")
    kwok_dir = _module_dir(go, tools / "kwok", KWOK_MODULE, env)
    stages = [(kwok_dir / stage).read_text() for stage in KWOK_STAGES]
    (out / "kwok-stages.yaml").write_text("\n---\n".join(text.strip() for text in stages) + "\n")


def _module_dir(go: str, cwd: Path, module: str, env: dict[str, str]) -> Path:
    result = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", module],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise BuildError(f"`go list -m {module}` failed: {result.stderr.strip()}")
    return Path(result.stdout.strip())
