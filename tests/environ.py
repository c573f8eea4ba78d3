"""The environment a test's child process starts from: this process's, minus the harness's own
settings (HARNESS_*, KUBECONFIG), so the child sees exactly the settings the test gives it and
never a developer's cluster."""

from __future__ import annotations

import os

import pytest


def is_harness_setting(name: str) -> bool:
    return name.startswith("HARNESS_") or name == "KUBECONFIG"


def without_harness_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not is_harness_setting(name)}


def drop_harness_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for code the test runs in its own process."""
    for name in list(os.environ):
        if is_harness_setting(name):
            monkeypatch.delenv(name)
