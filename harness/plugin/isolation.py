"""pytest's per-test state, made safe for tests in flight at once on threads of one process.

pytest keeps what a test set up in objects every test shares: one stack of set-up nodes
(`session._setupstate`), and on each fixture definition the value of its last execution
(`FixtureDef.cached_result`, with its finalizers). Two tests in flight at once would tear down
each other's collectors and be handed each other's function-scoped fixtures. While a concurrent
run lasts (`Isolation`, a context manager):

- each test gets its own copies of its function-scoped fixture definitions, so its fixture
  values and their finalizers are its own; fixtures it requests by name at run time
  (`request.getfixturevalue`) and what reporters look up (`getfixturedefs`) resolve to them;
- a fixture of a wider scope is executed by one test at a time (the first computes it, the rest
  find it cached);
- set-up state is kept per test for the test's own node, and shared for its collectors
  (session, package, module, class), which are torn down after the last of their tests, by that
  test's tear-down, as pytest tears them down after the last test that needs them.

These are pytest's internals (checked by `supported()`; pytest 8 and 9): a pytest that lacks
them runs the suites one test at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import pytest
from _pytest import runner
from _pytest.fixtures import FixtureDef, FixtureManager
from _pytest.nodes import Node
from _pytest.outcomes import TEST_OUTCOME
from _pytest.runner import SetupState
from _pytest.scope import Scope

_OWN_DEFS = pytest.StashKey[dict[str, Sequence[FixtureDef[Any]]]]()
Finalizers = list[Callable[[], object]]
Failure = tuple[BaseException, TracebackType | None]


def supported(session: pytest.Session) -> str | None:
    """Why this pytest cannot run tests at once (None when it can)."""
    manager = getattr(session, "_fixturemanager", None)
    if not isinstance(manager, FixtureManager) or not hasattr(manager, "getfixturedefs"):
        return "pytest's fixture manager has no getfixturedefs"
    if not isinstance(getattr(session, "_setupstate", None), SetupState):
        return "pytest keeps no SetupState on the session"
    for item in session.items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or not dataclasses.is_dataclass(info) or not hasattr(item, "_initrequest"):
            return f"{item.nodeid} is not a plain pytest function"
    return None


class ThreadedSetupState:
    """`session._setupstate` while tests are in flight at once (see the module's docstring)."""

    def __init__(self, items: Sequence[pytest.Item]) -> None:
        self._lock = threading.RLock()
        self._shared: dict[Node, tuple[Finalizers, Failure | None]] = {}
        self._remaining: Counter[Node] = Counter()
        for item in items:
            self._remaining.update(item.listchain()[:-1])
        self._own = threading.local()

    def _item_stack(self) -> dict[Node, tuple[Finalizers, Failure | None]]:
        stack = getattr(self._own, "stack", None)
        if stack is None:
            stack = self._own.stack = {}
        return stack

    @property
    def stack(self) -> dict[Node, tuple[Finalizers, Failure | None]]:
        with self._lock:
            return {**self._shared, **self._item_stack()}

    def is_node_active(self, node: Node) -> bool:
        return node in self._item_stack() or node in self._shared

    def setup(self, item: pytest.Item) -> None:
        with self._lock:
            for collector in item.listchain()[:-1]:
                if collector in self._shared:
                    failure = self._shared[collector][1]
                    if failure is not None:  # its tests all fail with its set-up's error
                        raise failure[0].with_traceback(failure[1])
                    continue
                self._shared[collector] = ([collector.teardown], None)
                try:
                    collector.setup()
                except TEST_OUTCOME as error:
                    finalizers = self._shared[collector][0]
                    self._shared[collector] = (finalizers, (error, error.__traceback__))
                    raise
        stack = self._item_stack()
        assert not stack, "a test on this thread was not torn down"
        stack[item] = ([item.teardown], None)
        item.setup()

    def addfinalizer(self, finalizer: Callable[[], object], node: Node) -> None:
        assert callable(finalizer)
        stack = self._item_stack()
        if node in stack:
            stack[node][0].append(finalizer)
            return
        with self._lock:
            assert node in self._shared, (node, self._shared)
            self._shared[node][0].append(finalizer)

    def teardown_exact(self, nextitem: pytest.Item | None) -> None:
        """On a test's thread: its own node, then each collector it was the last test of.
        Elsewhere (the session's end): every collector still set up."""
        stack = self._item_stack()
        errors: list[BaseException] = []
        if stack:
            item, (finalizers, _) = stack.popitem()
            errors += _finalize(item, finalizers)
            nodes = self._release(item.listchain()[:-1])
        else:
            with self._lock:
                nodes = list(self._shared)[::-1]
        for node in nodes:
            with self._lock:
                finalizers, _ = self._shared.pop(node)
            errors += _finalize(node, finalizers)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BaseExceptionGroup("errors during test teardown", errors[::-1])

    def _release(self, collectors: Sequence[Node]) -> list[Node]:
        """One test fewer needs these collectors; the ones none needs now, deepest first."""
        with self._lock:
            self._remaining.subtract(collectors)
            return [
                node
                for node in reversed(collectors)
                if self._remaining[node] <= 0 and node in self._shared
            ]

    def never_run(self, items: Sequence[pytest.Item]) -> None:
        """These tests will not start (the run stopped): their collectors do not wait for them."""
        with self._lock:
            for item in items:
                self._remaining.subtract(item.listchain()[:-1])


def _finalize(node: Node, finalizers: Finalizers) -> list[BaseException]:
    errors: list[BaseException] = []
    while finalizers:
        finalizer = finalizers.pop()
        try:
            finalizer()
        except TEST_OUTCOME as error:
            errors.append(error)
    if len(errors) > 1:
        return [BaseExceptionGroup(f"errors while tearing down {node!r}", errors[::-1])]
    return errors


def _no_current_test(item: pytest.Item, when: str | None) -> None:
    return None


class Isolation:
    """Installs the above on a session for the length of a concurrent run."""

    def __init__(self, session: pytest.Session) -> None:
        self.session = session
        self.manager: FixtureManager = session._fixturemanager
        self.setupstate = ThreadedSetupState(session.items)
        self._original: SetupState | None = None
        self._guarded: list[FixtureDef[Any]] = []
        self._guard_lock = threading.Lock()
        self._execute_lock = threading.RLock()

    def __enter__(self) -> Isolation:
        # PYTEST_CURRENT_TEST names the one running test: with several, setting and removing it
        # from every thread races (and changes the environment under other threads' feet).
        self._current_test_var = runner._update_current_test_var
        runner._update_current_test_var = _no_current_test  # type: ignore[assignment]
        self._original = self.session._setupstate
        self.session._setupstate = self.setupstate  # type: ignore[assignment]
        lookup = self.manager.getfixturedefs

        def getfixturedefs(argname: str, node: Node) -> Sequence[FixtureDef[Any]] | None:
            own = node.stash.get(_OWN_DEFS, None)
            if own is not None and argname in own:
                return own[argname]
            found = lookup(argname, node)
            if own is not None and found:
                own[argname] = found = self._own_copies(found)
            return found

        self.manager.getfixturedefs = getfixturedefs  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        # The session's end tears down what is still set up through the session's SetupState.
        with self.setupstate._lock:
            leftover = self.setupstate._shared
        if self._original is not None and not leftover:
            self.session._setupstate = self._original
        del self.manager.getfixturedefs
        runner._update_current_test_var = self._current_test_var  # type: ignore[assignment]
        for definition in self._guarded:
            definition.__dict__.pop("execute", None)

    def prepare(self, item: pytest.Item) -> None:
        """Give `item` its own function-scoped fixture definitions (before its set-up)."""
        info = item._fixtureinfo  # type: ignore[attr-defined]
        own = {name: self._own_copies(defs) for name, defs in info.name2fixturedefs.items()}
        item._fixtureinfo = dataclasses.replace(info, name2fixturedefs=own)  # type: ignore[attr-defined]
        item.stash[_OWN_DEFS] = own
        item._initrequest()  # type: ignore[attr-defined]

    def _own_copies(self, definitions: Sequence[FixtureDef[Any]]) -> Sequence[FixtureDef[Any]]:
        result = []
        for definition in definitions:
            if definition._scope is Scope.Function:
                clone = copy.copy(definition)
                clone.__dict__["cached_result"] = None
                clone.__dict__["_finalizers"] = []
                result.append(clone)
            else:
                self._guard(definition)
                result.append(definition)
        return tuple(result)

    def _guard(self, definition: FixtureDef[Any]) -> None:
        """One test at a time executes a wider-scoped fixture (the rest find it cached)."""
        with self._guard_lock:
            if "execute" in definition.__dict__:
                return
            execute = type(definition).execute
            lock = self._execute_lock

            def guarded(request: Any) -> Any:
                with lock:
                    return execute(definition, request)

            definition.__dict__["execute"] = guarded
            self._guarded.append(definition)
