"""Fixtures shared by all of the project's tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _pytest.pytester
import pytest

from harness.reference.apiserver.testing import RunningApiServer
from harness.reference.apiserver.testing import start_apiserver as _start

# `pytester`: the harness plugin's behaviour shown by pytest sessions run in this process.
pytest_plugins = ["pytester"]


class _ForgetInnerModules:
    """What pytester restores after an in-process run, narrowed to the inner session's own
    modules (its test files and conftests under `root`).

    pytester forgets every module first imported during the run. Libraries cannot be imported
    twice in one process: numpy refuses, and kubernetes' pydantic models imported again are new
    classes that the first import's API objects reject. So a library an inner session imported
    stays imported, as in any long-lived process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.saved = set(sys.modules)

    def restore(self) -> None:
        for name, module in list(sys.modules.items()):
            source = getattr(module, "__file__", None) or ""
            if name not in self.saved and source and Path(source).is_relative_to(self.root):
                del sys.modules[name]


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    root = pytester.path
    monkeypatch.setattr(
        _pytest.pytester, "SysModulesSnapshot", lambda preserve=None: _ForgetInnerModules(root)
    )
    pytester._sys_modules_snapshot = _ForgetInnerModules(root)
    return pytester


# The longest tests (measured with --durations), longest first. pytest-xdist hands tests out in
# collection order, so starting these first keeps one long test from running alone at the end.
LONGEST_FIRST = (
    "tests/e2e/test_mutants.py::test_every_mutant_is_killed_by_its_intended_test",
    "tests/controlplane/test_suites_on_real.py",
    "tests/controlplane/test_job_rbac_on_real.py",
    "tests/controlplane/test_job_manifests_on_real.py",
    "tests/e2e/test_faults.py",
    "tests/e2e/test_external_controller.py",
    "tests/e2e/test_suites_matrix.py",
    "tests/e2e/test_evidence.py",
    "tests/cluster/test_run_local_cluster.py",
    "tests/e2e/test_run_command.py",
    "tests/bench/",
    "tests/e2e/test_environment_errors.py",
)


def _start_rank(item: pytest.Item) -> int:
    return next(
        (rank for rank, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
        len(LONGEST_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_start_rank)  # stable: the rest keeps its order


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
