"""The servers the Kubernetes-semantics checks run against, side by side.

`embedded` is the harness's own API server; `real` is kube-apiserver with etcd, the controllers
and kwok, built from the pinned modules (`python -m harness build-control-plane`); `external` is
whatever APISERVER_CONTRACT_KUBECONFIG points at. Every check that is a Kubernetes semantic runs
against `embedded` and `real` in the same run, so a difference shows as a failure of one of them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.reference.apiserver.testing import start_apiserver
from harness.reference.controlplane.binaries import NotBuilt, find_built
from harness.reference.controlplane.control_plane import (
    ControlPlaneError,
    ControlPlaneOptions,
    RealControlPlane,
)

EMBEDDED = "embedded"
REAL = "real"
EXTERNAL = "external"

EXTERNAL_KUBECONFIG = os.environ.get("APISERVER_CONTRACT_KUBECONFIG")


def kinds() -> list[str]:
    """Both servers, or only the external one when the run points at a cluster."""
    return [EXTERNAL] if EXTERNAL_KUBECONFIG else [EMBEDDED, REAL]


@dataclass(frozen=True)
class ServerUnderTest:
    kind: str
    kubeconfig: Path

    @property
    def embedded(self) -> bool:
        """Whether the server's own knobs (watch window, bookmark interval) are ours to set."""
        return self.kind == EMBEDDED


@contextlib.contextmanager
def serve(kind: str, state: Path, watch_window: int) -> Iterator[ServerUnderTest]:
    if kind == EXTERNAL:
        yield ServerUnderTest(kind, Path(EXTERNAL_KUBECONFIG or ""))
        return
    if kind == EMBEDDED:
        args = ["--watch-window", str(watch_window), "--bookmark-interval", "0.5"]
        server = start_apiserver(state, extra_args=args)
        try:
            yield ServerUnderTest(kind, server.kubeconfig)
        finally:
            server.stop()
        return
    try:
        binaries = find_built()
    except NotBuilt as error:
        # The real tier is part of every run: without its build the run fails, it never skips.
        pytest.fail(f"{error} (python -m harness build-control-plane)", pytrace=False)
    plane = RealControlPlane(binaries, ControlPlaneOptions(state_dir=state))
    try:
        try:
            plane.start()
        except ControlPlaneError as error:
            pytest.fail(f"the real control plane did not start: {error}", pytrace=False)
        yield ServerUnderTest(kind, plane.kubeconfig)
    finally:
        plane.stop()
