"""pytest plugin: options, settings and the embedded stack's early start — the light half.

Registered by entry point (`pytest11`) and, in a checkout, by the root `conftest.py`.
Options come from flags or environment (see `config.py`). `--target embedded` (the default)
starts the bundled stack for the session; `--target cluster` uses what it is given. Either
way the session first proves the environment usable — Kubernetes API reachable and authorised,
the ComputeInstance and KubeVirt CRDs served, the fulfillment API reachable with the token —
and stops with exit code 20 and one line naming the problem if it is not, so a broken
environment never reads as a failed restart.

This module imports neither the Kubernetes client nor gRPC. When the session will run the
suites (their conftest declares `HARNESS_SUITES`) on the embedded stack, `pytest_configure`
begins the stack and only then registers the fixtures and per-test hooks
(`harness.plugin.fixtures`), so importing those libraries and collecting overlap the stack's
start-up. The xdist controller, which runs no tests, registers only the summary hooks
(`harness.plugin.terminal_summary`): it starts its workers without loading either library.
"""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.config import OPTIONS, ConfigError, Settings, load_settings
from harness.contract.profiles import UnknownProfileError
from harness.ownership import PARENT_ENV, die_with, die_with_parent

if TYPE_CHECKING:
    from harness.reference.stack import BackgroundStack

# Shards, deadline, SIGTERM, run ledger and leak sweep, summary.json (harness/runner/).
pytest_plugins = ["harness.plugin.run_hooks"]

SETTINGS_KEY = pytest.StashKey[Settings]()
REPORTS_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
# The session's embedded stack, begun at configure time or by the harness_context fixture.
PRESTARTED_KEY = pytest.StashKey["BackgroundStack | None"]()
# Whether this pytest was started by `harness run`, which it must not outlive.
_RUN_CHILD_KEY = pytest.StashKey[bool]()
_RUN_CHILD = "harness_run_child"

# Options with which pytest runs no tests (and so must not start a stack).
_NO_TESTS_OPTIONS = (
    "collectonly",
    "help",
    "version",
    "markers",
    "showfixtures",
    "show_fixtures_per_test",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "OSAC restart harness")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {
            "dest": option.dest,
            "default": None,
            "help": f"{option.help} [env {option.env}]",
        }
        if option.is_switch:
            kwargs["action"] = "store_true"
        if option.repeatable:
            kwargs["action"] = "append"
        if option.choices:
            kwargs["choices"] = option.choices
        group.addoption(option.flag, **kwargs)


@pytest.hookimpl(trylast=True)  # after xdist (dsession) and the tmp_path factory are set up
def _die_with_the_run(config: pytest.Config) -> None:
    """`harness run` killed, even by SIGKILL, takes pytest with it at once, and pytest its xdist
    workers: nothing of the run goes on, or writes into its results, after the command is gone.
    (Each worker's stack dies with its worker.)"""
    if hasattr(config, "workerinput"):
        if config.workerinput.get(_RUN_CHILD):  # type: ignore[attr-defined]
            die_with(os.getppid(), signal.SIGKILL)
    elif os.environ.get(PARENT_ENV):
        die_with_parent(signal.SIGKILL)
        config.stash[_RUN_CHILD_KEY] = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker whether it belongs to a `harness run`."""
    node.workerinput[_RUN_CHILD] = node.config.stash.get(_RUN_CHILD_KEY, False)


def pytest_configure(config: pytest.Config) -> None:
    _die_with_the_run(config)
    if _is_xdist_controller(config):
        check_selection(config)
    flags = {option.flag: config.getoption(option.dest) for option in OPTIONS}
    try:
        settings = load_settings(flags)
    except (ConfigError, UnknownProfileError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[SETTINGS_KEY] = settings
    if _runs_the_suites_here(config, settings):
        begin_stack(config, settings)
    config.pluginmanager.import_plugin("harness.plugin.terminal_summary")
    if not _is_xdist_controller(config):  # it runs no tests: no fixtures, no client libraries
        config.pluginmanager.import_plugin("harness.plugin.fixtures")
    from harness.plugin import evidence_hooks as evidence

    evidence.register(config, settings)


def check_selection(config: pytest.Config) -> None:
    """-k and -m, parsed as pytest parses them, before any xdist worker starts: a worker that
    refuses one crashes, and xdist reports an INTERNALERROR instead of the usage error."""
    import _pytest.mark
    from _pytest.mark.expression import Expression

    validate_markers = getattr(_pytest.mark, "_validate_marker_names", None)
    for option, flag in (("keyword", "-k"), ("markexpr", "-m")):
        text = getattr(config.option, option, "") or ""
        if not text:
            continue
        try:
            expression = Expression.compile(text)
        except SyntaxError as error:
            raise pytest.UsageError(
                f"Wrong expression passed to '{flag}': {error.text}: at column {error.offset}: "
                f"{error.msg}"
            ) from None
        if flag == "-m" and validate_markers is not None:
            validate_markers(expression, config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session's stack is stopped by its fixture; this stops one begun early that no test
    used (everything deselected, a collection error) or that failed to start."""
    stack = config.stash.get(PRESTARTED_KEY, None)
    if stack is not None:
        stack.stop()  # idempotent


def _runs_the_suites_here(config: pytest.Config, settings: Settings) -> bool:
    if not settings.embedded or _is_xdist_controller(config):
        return False  # a real cluster, or the xdist controller (its workers run the tests)
    if any(getattr(config.option, name, False) for name in _NO_TESTS_OPTIONS):
        return False
    return any(
        getattr(plugin, "HARNESS_SUITES", False) for plugin in config.pluginmanager.get_plugins()
    )


def _is_xdist_controller(config: pytest.Config) -> bool:
    """xdist registers its controller session in a trylast pytest_configure too, so whether it
    is there yet is a matter of order: decide as xdist does, from its options."""
    if hasattr(config, "workerinput"):
        return False
    return getattr(config.option, "dist", "no") != "no" and bool(getattr(config.option, "tx", None))


def stack_state_dir(config: pytest.Config, settings: Settings) -> Path:
    """Where this process's embedded stack keeps its state: --state-dir (one folder per xdist
    worker inside it, or the workers' stacks would overwrite each other's env and kubeconfig),
    else a fresh folder under pytest's temporary directory."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    if settings.state_dir:
        return Path(settings.state_dir) / worker if worker else Path(settings.state_dir)
    factory = getattr(config, "_tmp_path_factory", None)  # what the tmp_path_factory fixture uses
    if factory is not None:
        return factory.mktemp("stack")
    return Path(tempfile.mkdtemp(prefix="harness-stack-"))


def begin_stack(config: pytest.Config, settings: Settings) -> BackgroundStack:
    from harness.reference.stack import StackOptions, launch

    options = StackOptions(
        control_plane=settings.control_plane,
        state_dir=stack_state_dir(config, settings),
        profile=settings.profile.name,
    )
    stack = launch(options)
    config.stash[PRESTARTED_KEY] = stack  # stopped at unconfigure if its fixture did not
    stack.begin()
    return stack
