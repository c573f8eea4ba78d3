"""grpcurl, the third-party gRPC client the tests call the fulfillment API with.

Built from `tools/grpcurl/` (github.com/fullstorydev/grpcurl at a pinned version) into the
per-user cache by `harness.reference.gobuild`, with the version stamped in as grpcurl's own
release build does, so `grpcurl -version` names the pin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.reference import gobuild

TOOLS_DIR = gobuild.TOOLS_ROOT / "grpcurl"
MODULE = "github.com/fullstorydev/grpcurl"
TARGET = gobuild.Target("grpcurl", ".", f"{MODULE}/cmd/grpcurl")


def pinned_version(tools: Path = TOOLS_DIR) -> str:
    return gobuild.pinned_version(tools, ".", MODULE)


def _ldflags(_target: gobuild.Target, tools: Path) -> str:
    return f"-s -w -X main.version={pinned_version(tools)}"


GRPCURL = gobuild.GoTool(
    title="grpcurl",
    tools_dir=TOOLS_DIR,
    cache_env="HARNESS_GRPCURL_CACHE",
    cache_name="grpcurl",
    targets=(TARGET,),
    command="python -m harness build-grpcurl",
    ldflags=_ldflags,
    pins=lambda tools: {"grpcurl": pinned_version(tools)},
    cold_build="a cold build takes a minute or two",
)


def find_grpcurl() -> Path:
    """The built grpcurl for the current pin, or gobuild.NotBuilt naming the command."""
    return gobuild.find_built(GRPCURL).path(TARGET.binary)


def ensure_grpcurl(log: Callable[[str], None] = lambda _: None) -> Path:
    return gobuild.ensure_built(GRPCURL, log).path(TARGET.binary)
