"""The results other plugins write, on a disk that refuses them: recorded, never a crash.

pytest's JUnit writer and allure-pytest write into the results layout too. On a full or
read-only disk their writes raise, which pytest reports as INTERNALERROR (allure's, mid-test)
or which skips the rest of the session's end, its fixtures' teardown included (JUnit's). Here
each of their writes is guarded: a failure goes to `record` (the run's lost files: summary.json
"lost", exit 20) and the run goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from harness.results import ResultsLayout

Record = Callable[[Path, OSError], None]


def guard_junit(config: pytest.Config, record: Record) -> None:
    """Re-register pytest's JUnit writer with its end-of-session write guarded."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    finish = xml.pytest_sessionfinish
    logfile = Path(xml.logfile)

    def pytest_sessionfinish() -> None:
        try:
            finish()
        except OSError as error:
            with contextlib.suppress(OSError):
                logfile.unlink()  # half an XML file would mislead whoever parses it
            record(logfile, error)

    config.pluginmanager.unregister(xml)
    xml.pytest_sessionfinish = pytest_sessionfinish
    config.pluginmanager.register(xml)


class _AllureGuard:
    """Wraps allure's file writer (on allure's own plugin manager) for one session."""

    def __init__(self, results: Path, record: Record) -> None:
        self.results = results
        self.record = record

    def _guarded(self, name: str) -> Generator[None, Any, Any]:
        """`name`: the file's, or what it holds in parentheses when allure names it later."""
        try:
            return (yield)
        except OSError as error:
            self.record(self.results / name, error)
            return None

    def hooks(self) -> Any:
        from allure_commons import hookimpl

        guard = self

        class Hooks:
            @hookimpl(wrapper=True)
            def report_result(self, result: Any) -> Generator[None, Any, Any]:
                return (yield from guard._guarded("(a test result)"))

            @hookimpl(wrapper=True)
            def report_container(self, container: Any) -> Generator[None, Any, Any]:
                return (yield from guard._guarded("(a fixture container)"))

            @hookimpl(wrapper=True)
            def report_attached_file(
                self, source: Any, file_name: Any
            ) -> Generator[None, Any, Any]:
                return (yield from guard._guarded(str(file_name)))

            @hookimpl(wrapper=True)
            def report_attached_data(self, body: Any, file_name: Any) -> Generator[None, Any, Any]:
                return (yield from guard._guarded(str(file_name)))

            @hookimpl(wrapper=True)
            def report_globals(self, globals_item: Any) -> Generator[None, Any, Any]:
                return (yield from guard._guarded("(the run's globals)"))

        return Hooks()


_ALLURE_KEY = pytest.StashKey[Any]()


def guard_allure(config: pytest.Config, record: Record) -> None:
    results = getattr(config.option, "allure_report_dir", None)
    if not results:
        return
    from allure_commons import plugin_manager

    hooks = _AllureGuard(Path(results), record).hooks()
    plugin_manager.register(hooks)
    config.stash[_ALLURE_KEY] = hooks


def unguard_allure(config: pytest.Config) -> None:
    hooks = config.stash.get(_ALLURE_KEY, None)
    if hooks is not None:
        from allure_commons import plugin_manager

        plugin_manager.unregister(hooks)
        del config.stash[_ALLURE_KEY]


def remove_partial_files(layout: ResultsLayout) -> None:
    """Temporary files refused writes left behind (allure's `*.tmp`): their space is given back
    before the summary is written. Called once every writer has stopped."""
    for directory in (layout.root, layout.allure_results):
        with contextlib.suppress(OSError):
            for path in directory.glob("*.tmp"):  # pathlib's * matches dot-files too
                with contextlib.suppress(OSError):
                    path.unlink()
