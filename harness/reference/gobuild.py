"""Go programs built once per pin from Go modules under `tools/`, into a per-user cache.

A `GoTool` is a directory of Go modules (go.mod and go.sum only), each requiring one upstream
project at a pinned version, and the main packages `go build` makes from them. The cache key is a
hash of those go.mod/go.sum files, the Go version and the build flags, so a new pin builds anew
and an unchanged one is reused: `ensure_built()` a second time is a no-op. Builders of one cache
take turns (flock), and the second finds the first's result.
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

from harness.filewrites import is_disk_trouble

TOOLS_ROOT = Path(__file__).resolve().parents[2] / "tools"
GO_FLAGS = "-mod=readonly -trimpath"


class CacheDirError(RuntimeError):
    """The cache directory the user's variable names cannot be one: bad input."""


class BuildError(RuntimeError):
    """A tool could not be built; the message says which step and why."""


class NotBuilt(RuntimeError):
    """No cached build for the current pins; the message gives the command that makes one."""


@dataclass(frozen=True)
class Target:
    binary: str
    module_dir: str  # under the tool's directory
    package: str


@dataclass(frozen=True)
class Build:
    """A complete cache entry."""

    directory: Path

    def path(self, binary: str) -> Path:
        return self.directory / "bin" / binary

    @property
    def manifest(self) -> dict[str, object]:
        return dict(json.loads((self.directory / "manifest.json").read_text()))


# What a tool adds to a finished build (its files beside bin/): go, tools dir, out dir, env.
Finish = Callable[[str, Path, Path, dict[str, str]], None]


@dataclass(frozen=True)
class GoTool:
    title: str  # for messages: "the real control plane", "grpcurl"
    tools_dir: Path
    cache_env: str  # overrides the cache directory
    cache_name: str  # under ~/.cache/osac-harness/
    targets: tuple[Target, ...]
    command: str  # the command that builds it, named when it is missing
    ldflags: Callable[[Target, Path], str]
    pins: Callable[[Path], dict[str, str]]  # recorded in the manifest
    format: str = "1"  # bump when what a cache entry holds changes
    finish: Finish | None = None
    cold_build: str = "a cold build takes minutes"


def cache_root(tool: GoTool) -> Path:
    override = os.environ.get(tool.cache_env)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "osac-harness" / tool.cache_name


def pinned_version(tools: Path, module_dir: str, module: str) -> str:
    """The version `<tools>/<module_dir>/go.mod` requires of `module`."""
    gomod = tools / module_dir / "go.mod"
    found = re.search(
        rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", gomod.read_text(), re.MULTILINE
    )
    if not found:
        raise BuildError(f"{gomod} requires no {module}")
    return found.group(1)


def go_command() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "no `go` on PATH: the harness builds its Go tools from their modules "
            "(Go 1.26 or newer, with the Go module proxy)"
        )
    return go


def go_env(go: str) -> str:
    result = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"`go env` failed: {result.stderr.strip()}")
    return " ".join(result.stdout.split())


def cache_key(tool: GoTool, environment: str | None = None) -> str:
    digest = hashlib.sha256(tool.format.encode())
    digest.update((environment if environment is not None else go_env(go_command())).encode())
    for module_dir in sorted({target.module_dir for target in tool.targets}):
        for name in ("go.mod", "go.sum"):
            path = tool.tools_dir / module_dir / name
            digest.update(f"{module_dir}/{name}\0".encode())
            digest.update(path.read_bytes() if path.is_file() else b"")
    for target in tool.targets:
        flags = tool.ldflags(target, tool.tools_dir)
        digest.update(f"{target.binary} {target.package} {flags}\0".encode())
    return digest.hexdigest()[:16]


def find_built(tool: GoTool) -> Build:
    """The cached build for the current pins, or NotBuilt saying how to make it."""
    entry = cache_root(tool) / cache_key(tool)
    if not (entry / "manifest.json").is_file():
        raise NotBuilt(
            f"{tool.title} is not built for the current pins (no {entry}): run "
            f"`{tool.command}` ({tool.cold_build})"
        )
    return Build(entry)


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


def ensure_built(tool: GoTool, log: Callable[[str], None] = lambda _: None) -> Build:
    """Build every target into the cache unless this pin's entry is complete already."""
    go = go_command()
    environment = go_env(go)
    key = cache_key(tool, environment)
    root = cache_root(tool)
    entry = root / key
    if (entry / "manifest.json").is_file():
        return Build(entry)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if os.environ.get(tool.cache_env) and not is_disk_trouble(error):
            raise CacheDirError(
                f"{tool.cache_env}: cannot use {root} as a directory: {error.strerror}"
            ) from None
        raise BuildError(f"cannot create the build cache {root}: {error.strerror}") from None
    with _locked(root):
        if (entry / "manifest.json").is_file():
            return Build(entry)
        started = time.monotonic()
        partial = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            _build(tool, go, partial, log)
            seconds = round(time.monotonic() - started, 1)
            manifest = {
                "key": key,
                "go": environment,
                **tool.pins(tool.tools_dir),
                "build_seconds": seconds,
            }
            (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            os.replace(partial, entry)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        log(f"built {tool.title} in {seconds:.0f} s into {entry}")
        return Build(entry)


def _build(tool: GoTool, go: str, out: Path, log: Callable[[str], None]) -> None:
    (out / "bin").mkdir(parents=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": GO_FLAGS}
    for target in tool.targets:
        log(f"building {target.binary} ({target.package})")
        command = [
            go,
            "build",
            f"-ldflags={tool.ldflags(target, tool.tools_dir)}",
            "-o",
            str(out / "bin" / target.binary),
            target.package,
        ]
        result = subprocess.run(
            command,
            cwd=tool.tools_dir / target.module_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            raise BuildError(f"building {target.binary} failed:\n{tail}")
    if tool.finish is not None:
        tool.finish(go, tool.tools_dir, out, env)


def module_dir(go: str, cwd: Path, module: str, env: dict[str, str]) -> Path:
    """Where the module cache holds `module` at the version `cwd`'s go.mod requires."""
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
