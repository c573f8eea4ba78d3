"""The control plane's binaries: built once from `tools/controlplane/`, cached by their pins.

Each Go module under `tools/controlplane/` requires one upstream project at a pinned version
(k8s.io/kubernetes with its staging modules replaced by their published versions, etcd's
server module, kwok); `harness.reference.gobuild` turns their main packages into binaries in a
cache keyed by those pins, and this module adds kwok's stage definitions beside them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from harness.reference import gobuild
from harness.reference.gobuild import BuildError, NotBuilt, Target

__all__ = ["BuildError", "NotBuilt", "Target"]

TOOLS_DIR = gobuild.TOOLS_ROOT / "controlplane"
CACHE_ENV = "HARNESS_CONTROL_PLANE_CACHE"
KUBERNETES_MODULE = "k8s.io/kubernetes"
ETCD_MODULE = "go.etcd.io/etcd/server/v3"
KWOK_MODULE = "sigs.k8s.io/kwok"
# kwok's own stage definitions (node Ready, pod Running, pod deletion), shipped in its module.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)

TARGETS = (
    Target("kube-apiserver", "kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver"),
    Target(
        "kube-controller-manager", "kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager"
    ),
    Target("kube-scheduler", "kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler"),
    Target("etcd", "etcd", ETCD_MODULE),
    Target("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
)


@dataclasses.dataclass(frozen=True)
class Binaries(gobuild.Build):
    @property
    def kwok_stages(self) -> Path:
        return self.directory / "kwok-stages.yaml"


def pinned_version(module_dir: str, module: str, tools: Path = TOOLS_DIR) -> str:
    """The version `tools/controlplane/<module_dir>/go.mod` requires of `module`."""
    return gobuild.pinned_version(tools, module_dir, module)


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


def _pins(tools: Path) -> dict[str, str]:
    return {
        "kubernetes": pinned_version("kubernetes", KUBERNETES_MODULE, tools),
        "etcd": pinned_version("etcd", ETCD_MODULE, tools),
        "kwok": pinned_version("kwok", KWOK_MODULE, tools),
    }


def _write_kwok_stages(go: str, tools: Path, out: Path, env: dict[str, str]) -> None:
    kwok_dir = gobuild.module_dir(go, tools / "kwok", KWOK_MODULE, env)
    stages = [(kwok_dir / stage).read_text() for stage in KWOK_STAGES]
    (out / "kwok-stages.yaml").write_text("\n---\n".join(text.strip() for text in stages) + "\n")


CONTROL_PLANE = gobuild.GoTool(
    title="the real control plane",
    tools_dir=TOOLS_DIR,
    cache_env=CACHE_ENV,
    cache_name="controlplane",
    targets=TARGETS,
    command="python -m harness build-control-plane",
    ldflags=_ldflags,
    pins=_pins,
    finish=_write_kwok_stages,
)


def _tool(tools: Path) -> gobuild.GoTool:
    return dataclasses.replace(CONTROL_PLANE, tools_dir=tools)


def cache_root() -> Path:
    return gobuild.cache_root(CONTROL_PLANE)


def cache_key(tools: Path = TOOLS_DIR, go_env: str | None = None) -> str:
    return gobuild.cache_key(_tool(tools), go_env)


def find_built(tools: Path = TOOLS_DIR) -> Binaries:
    """The cached build for the current pins, or NotBuilt saying how to make it."""
    return Binaries(gobuild.find_built(_tool(tools)).directory)


def ensure_built(log: Callable[[str], None] = lambda _: None, tools: Path = TOOLS_DIR) -> Binaries:
    """Build every binary into the cache unless this pin's entry is complete already."""
    return Binaries(gobuild.ensure_built(_tool(tools), log).directory)
