"""grpcurl is built like the control plane (one shared builder): from its pinned module, into a
per-user cache keyed by the pin, by `python -m harness build-grpcurl`."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

from harness.reference import gobuild
from harness.reference.controlplane.binaries import CONTROL_PLANE
from harness.reference.grpcurl import GRPCURL, MODULE, TOOLS_DIR, find_grpcurl, pinned_version

GO_ENV = "go1.26.8 linux amd64"


def build_command(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "build-grpcurl"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_the_pin_is_read_from_the_module():
    assert pinned_version().startswith("v1.")
    assert f"require {MODULE} {pinned_version()}" in (TOOLS_DIR / "go.mod").read_text()


def test_the_cache_key_follows_the_pin_and_the_go_version(tmp_path):
    copy = tmp_path / "grpcurl"
    shutil.copytree(TOOLS_DIR, copy)
    tool = dataclasses.replace(GRPCURL, tools_dir=copy)
    key = gobuild.cache_key(tool, GO_ENV)
    assert key == gobuild.cache_key(GRPCURL, GO_ENV)
    assert key != gobuild.cache_key(tool, "go1.27.0 linux amd64")
    gomod = copy / "go.mod"
    gomod.write_text(gomod.read_text().replace(pinned_version(), "v1.9.3"))
    assert gobuild.cache_key(tool, GO_ENV) != key
    assert gobuild.cache_root(GRPCURL) != gobuild.cache_root(CONTROL_PLANE)


def test_without_a_build_the_message_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv(GRPCURL.cache_env, str(tmp_path / "empty"))
    with pytest.raises(gobuild.NotBuilt, match="python -m harness build-grpcurl"):
        find_grpcurl()


def test_a_second_build_is_a_no_op():
    """run-tests.sh built it already; again with the same pin returns the same binary."""
    completed = build_command()
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == (
        f"harness build-grpcurl: ready: {find_grpcurl()}"
    )
    assert "building" not in completed.stderr


def test_without_go_the_build_fails_in_one_line(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), GRPCURL.cache_env: str(tmp_path / "cache")}
    completed = build_command(env)
    assert completed.returncode == 20  # ENVIRONMENT_NOT_READY
    assert completed.stderr.startswith("harness build-grpcurl: error: no `go` on PATH")
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_build_into_an_empty_cache_makes_a_complete_entry(tmp_path):
    """The whole builder, end to end; Go's own build cache keeps it to seconds."""
    env = {**os.environ, GRPCURL.cache_env: str(tmp_path / "cache")}
    completed = build_command(env)
    assert completed.returncode == 0, completed.stderr
    entries = [path for path in (tmp_path / "cache").iterdir() if not path.name.startswith(".")]
    assert [entry.name for entry in entries] == [gobuild.cache_key(GRPCURL)]
    manifest = gobuild.Build(entries[0]).manifest
    assert manifest["grpcurl"] == pinned_version()
    assert set(manifest) == {"key", "go", "grpcurl", "build_seconds"}
    binary = gobuild.Build(entries[0]).path("grpcurl")
    version = subprocess.run([str(binary), "-version"], capture_output=True, text=True, check=True)
    assert (version.stdout + version.stderr).split() == ["grpcurl", pinned_version()]
