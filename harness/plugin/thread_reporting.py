"""Each test's report and evidence kept its own while tests run at once on threads.

pytest's reporters and capture were written for one test at a time. While a concurrent run
lasts (`ThreadReporting`, a context manager):

- reports go to the reporters one at a time (terminal, JUnit, Allure, the run's summary);
- a test's "Captured log" is what its own thread logged (pytest's log handlers are one pair
  for every test, reset at each phase); records of other threads (watches, cleanup) are not a
  test's;
- stdout and stderr are not captured per test (pytest's capture is one redirection of the
  process's file descriptors): what a test prints goes to the terminal. The suites print
  nothing; their evidence is the timeline, the diagnostics, the steps and the logs;
- a warning (a contract finding among them) belongs to the test whose thread raised it
  (pytest's per-test `catch_warnings` swaps process-wide state, so one catch for the whole
  run routes each warning by thread); `filterwarnings` marks do not apply per test;
- Allure keeps each test's steps on its own thread, and finds by id what another thread began
  (a session fixture set up by the first test, finished by the last).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.logging import LogCaptureHandler, caplog_handler_key, caplog_records_key

_REPORT_LOCK = threading.RLock()


class SerialReports:
    """The report hooks, entered by one thread at a time."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> Iterator[None]:
        with _REPORT_LOCK:
            return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Iterator[None]:
        with _REPORT_LOCK:
            return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> Iterator[None]:
        with _REPORT_LOCK:
            return (yield)


class _ByThread(logging.Handler):
    """Hands a record to the handler of the test running on the thread that logged it."""

    def __init__(self) -> None:
        super().__init__(level=0)
        self._bound = threading.local()

    def bind(self, handler: logging.Handler | None) -> None:
        self._bound.handler = handler

    def emit(self, record: logging.LogRecord) -> None:
        handler = getattr(self._bound, "handler", None)
        if handler is not None and record.levelno >= handler.level:
            handler.handle(record)


class _WarningsByThread:
    """One `catch_warnings` for the run (pytest's configured filters), each warning kept for
    the test of the thread that raised it; the rest for the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._bound = threading.local()
        self._catch: contextlib.AbstractContextManager[Any] | None = None
        self._unbound: list[warnings.WarningMessage] = []

    def __enter__(self) -> None:
        self._catch = self.config._catch_configured_warnings(record=True)
        self._catch.__enter__()
        warnings._showwarnmsg_impl = self._route  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        assert self._catch is not None
        self._catch.__exit__(None, None, None)
        for message in self._unbound:
            self._recorded(message, "")

    def _route(self, message: warnings.WarningMessage) -> None:
        kept = getattr(self._bound, "kept", None)
        (self._unbound if kept is None else kept).append(message)

    def protocol(self, item: pytest.Item) -> Iterator[None]:
        """In place of pytest's per-test `catch_warnings` (its pytest_runtest_protocol)."""
        kept: list[warnings.WarningMessage] = []
        self._bound.kept = kept
        try:
            return (yield)
        finally:
            self._bound.kept = None
            for message in kept:
                self._recorded(message, item.nodeid)

    def _recorded(self, message: warnings.WarningMessage, nodeid: str) -> None:
        self.config.hook.pytest_warning_recorded.call_historic(
            kwargs={
                "warning_message": message,
                "nodeid": nodeid,
                "when": "runtest",
                "location": None,
            }
        )


class ThreadReporting:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._router = _ByThread()
        self._undo: list[tuple[object, str, bool, object]] = []
        self._reports = SerialReports()
        self._warnings = _WarningsByThread(config)
        self._entered_warnings = False

    def __enter__(self) -> ThreadReporting:
        manager = self.config.pluginmanager
        manager.register(self._reports, "harness-serial-reports")
        capture = manager.get_plugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=False)
            self._replace(capture, "item_capture", _no_capture)
        logs = manager.get_plugin("logging-plugin")
        if logs is not None:
            logging.getLogger().addHandler(self._router)
            self._replace(logs, "_runtest_for", self._log_capture(logs))
        for impl in self.config.hook.pytest_runtest_protocol.get_hookimpls():
            if impl.plugin_name == "warnings":
                self._warnings.__enter__()
                self._entered_warnings = True
                self._replace(impl, "function", self._warnings.protocol)
        listener = manager.get_plugin("allure_listener")
        reporter = getattr(listener, "allure_logger", None)
        if reporter is not None and hasattr(reporter, "_items"):
            self._replace(reporter, "_items", SharedItems())
        return self

    def __exit__(self, *exc: object) -> None:
        for target, name, had, previous in reversed(self._undo):
            if had:
                setattr(target, name, previous)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(target, name)
        self._undo.clear()
        if self._entered_warnings:
            self._warnings.__exit__()
        logging.getLogger().removeHandler(self._router)
        self.config.pluginmanager.unregister(self._reports)

    def _replace(self, target: object, name: str, value: object) -> None:
        """Set an attribute of another plugin's object for the run; put back on exit."""
        own = getattr(target, "__dict__", None)
        if own is None:  # a slot: always there
            self._undo.append((target, name, True, getattr(target, name)))
        else:
            self._undo.append((target, name, name in own, own.get(name)))
        setattr(target, name, value)

    def _log_capture(self, plugin: Any) -> Any:
        router = self._router

        @contextlib.contextmanager
        def runtest_for(item: pytest.Item, when: str) -> Iterator[None]:
            handler = LogCaptureHandler()
            handler.setFormatter(plugin.formatter)
            if plugin.log_level is not None:
                handler.setLevel(plugin.log_level)
            item.stash[caplog_records_key][when] = handler.records
            item.stash[caplog_handler_key] = handler
            router.bind(handler)
            try:
                yield
            finally:
                router.bind(None)
                item.add_report_section(when, "log", handler.stream.getvalue().strip())

        return runtest_for


@contextlib.contextmanager
def _no_capture(when: str, item: pytest.Item) -> Iterator[None]:
    yield


class SharedItems:
    """allure-python's per-thread items (`ThreadContextItems`), each thread's own for what it
    begins and ends, but found by id from any thread; what a finished thread left (a container
    it began) stays findable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[threading.Thread, OrderedDict[str, Any]] = {}
        self._left: OrderedDict[str, Any] = OrderedDict()

    @property
    def thread_context(self) -> OrderedDict[str, Any]:
        with self._lock:
            return self._contexts.setdefault(threading.current_thread(), OrderedDict())

    def _holder(self, key: str) -> OrderedDict[str, Any] | None:
        own = self.thread_context
        if key in own:
            return own
        with self._lock:
            for context in [*self._contexts.values(), self._left]:
                if key in context:
                    return context
        return None

    def __setitem__(self, key: str, value: Any) -> None:
        self.thread_context[key] = value

    def __getitem__(self, key: str) -> Any:
        holder = self._holder(key)
        if holder is None:
            raise KeyError(key)
        return holder[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.thread_context))

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self.thread_context))

    def get(self, key: str) -> Any:
        holder = self._holder(key)
        return None if holder is None else holder.get(key)

    def pop(self, key: str) -> Any:
        holder = self._holder(key)
        if holder is None:
            raise KeyError(key)
        return holder.pop(key)

    def cleanup(self) -> None:
        with self._lock:
            for thread in [t for t in self._contexts if not t.is_alive()]:
                self._left.update(self._contexts.pop(thread))
