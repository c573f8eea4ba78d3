"""Fixtures shared by all of the project's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.reference.apiserver.testing import RunningApiServer
from harness.reference.apiserver.testing import start_apiserver as _start


@pytest.fixture
def start_apiserver(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningApiServer]]:
    """Factory: `start_apiserver(crds=[...], seeds=[...], tokens=..., request_log=..., token=...)`.

    Starts `python -m harness.reference.apiserver` as a subprocess on a free port and returns
    a `RunningApiServer` (`url`, `port`, `kubeconfig`, `log_path`, `kubeconfig_for(token, name)`).
    Every server started through the factory is stopped by PID at teardown.
    """
    started: list[RunningApiServer] = []

    def start(**kwargs: Any) -> RunningApiServer:
        state: Path = tmp_path_factory.mktemp("apiserver")
        server = _start(state, **kwargs)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
