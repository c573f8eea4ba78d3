"""The control plane's binaries: built from the pinned modules, cached by the pins."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from harness.reference.controlplane import binaries
from harness.reference.controlplane.binaries import TOOLS_DIR, cache_key, find_built

GO_ENV = "go1.26.8 linux amd64"


@pytest.fixture
def tools(tmp_path):
    copy = tmp_path / "tools"
    shutil.copytree(TOOLS_DIR, copy)
    return copy


def test_the_cache_key_follows_every_pin_and_the_go_version(tools):
    key = cache_key(tools, GO_ENV)
    assert key == cache_key(tools, GO_ENV)
    assert key != cache_key(tools, "go1.27.0 linux amd64")
    gomod = tools / "kwok" / "go.mod"
    gomod.write_text(gomod.read_text().replace("v0.8.0", "v0.7.0"))
    assert cache_key(tools, GO_ENV) != key


def test_the_pinned_versions_are_read_from_the_modules():
    assert binaries.pinned_version("kubernetes", "k8s.io/kubernetes").startswith("v1.")
    assert binaries.pinned_version("etcd", "go.etcd.io/etcd/server/v3").startswith("v3.")
    assert binaries.pinned_version("kwok", "sigs.k8s.io/kwok").startswith("v0.")


def test_without_a_build_the_message_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv(binaries.CACHE_ENV, str(tmp_path / "empty"))
    with pytest.raises(binaries.NotBuilt, match="python -m harness build-control-plane"):
        find_built()


def test_the_control_plane_is_built_for_the_current_pins():
    """CI builds it (`.ci/run`); a run that finds none fails here rather than skipping."""
    built = find_built()
    manifest = built.manifest
    assert manifest["kubernetes"] == binaries.pinned_version("kubernetes", "k8s.io/kubernetes")
    for target in binaries.TARGETS:
        assert built.path(target.binary).is_file(), target.binary
    assert "kind: Stage" in built.kwok_stages.read_text()
    version = subprocess.run(
        [str(built.path("kube-apiserver")), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"Kubernetes {manifest['kubernetes']}"


def test_a_second_build_is_a_no_op(tmp_path):
    """`harness build-control-plane` again with the same pins returns the same entry at once."""
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "build-control-plane"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert str(find_built().directory) in completed.stderr
