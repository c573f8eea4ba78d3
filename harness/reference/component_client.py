"""Kubernetes API access shared by the reference components (controller, simulated KubeVirt).

The components behave like external operators: they reach the API server only through the
official client and a kubeconfig. This module holds what both need:

- `load_api_client`: an `ApiClient` from a kubeconfig path, with one clear error line when the
  file is unreadable or invalid;
- `ApiError` and friends: the client's `ApiException` mapped to the few cases callers act on;
- `Informer`: list + watch of one custom resource with resourceVersion resume, a re-list after
  `410 Expired`, reconnects with backoff after a dropped stream, a bounded `timeoutSeconds` per
  watch call, ADDED/MODIFIED/DELETED callbacks, a local cache and a prompt `stop()`;
- `has_status_subresource`: discovery of `<plural>/status` in the group-version's resource list.

The official client is synchronous, so each informer runs one daemon thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
EventHandler = Callable[[str, Obj, Obj | None], None]
"""Callback `(event_type, object, previous_object_or_None)`; types ADDED, MODIFIED, DELETED."""

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message is a single line for the user."""


def load_api_client(
    kubeconfig: str | Path, pool_size: int = 32, retries: int | None = None
) -> k8s.ApiClient:
    """Build an `ApiClient` from a kubeconfig file (current context).

    `retries` bounds urllib3's own reconnect attempts (None keeps its default), for servers
    that must answer UNAVAILABLE promptly when the API server is gone."""
    path = Path(kubeconfig)
    try:
        text = path.read_text()
    except OSError as error:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise KubeconfigError(f"kubeconfig {path} is not valid YAML: {first}") from None
    if not isinstance(data, dict) or not data.get("clusters"):
        raise KubeconfigError(f"kubeconfig {path} has no clusters")
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    except Exception as error:  # the loader raises several unrelated types
        message = " ".join(str(error).split()) or type(error).__name__
        raise KubeconfigError(f"kubeconfig {path} is invalid: {message}") from None
    configuration.connection_pool_maxsize = pool_size
    if retries is not None:
        configuration.retries = retries
    return k8s.ApiClient(configuration)


# --- errors -------------------------------------------------------------------------------------


class ApiError(Exception):
    """A failed API call; `status` is the HTTP code (0 for transport errors)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class AlreadyExistsError(ConflictError):
    pass


def api_error(error: ApiException) -> ApiError:
    """Map an `ApiException` to an `ApiError` whose text is the server's Status message.

    That text is what a Go client prints for a `StatusError`, e.g.
    `virtualmachineinstances.kubevirt.io "vm-1" not found`.
    """
    status = int(error.status or 0)
    message = ""
    reason = ""
    body = error.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            message = body.strip()
        else:
            if isinstance(parsed, dict):
                message = str(parsed.get("message") or "")
                reason = str(parsed.get("reason") or "")
    if not message:
        message = f"{status} {error.reason or 'error'}".strip()
    if status == 404:
        return NotFoundError(status, message)
    if status == 409:
        if reason == "AlreadyExists":
            return AlreadyExistsError(status, message)
        return ConflictError(status, message)
    return ApiError(status, message)


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Turn client exceptions raised inside the block into `ApiError`s."""
    try:
        yield
    except ApiException as error:
        raise api_error(error) from None
    except (Urllib3Error, OSError) as error:
        raise ApiError(0, f"transport error: {error}") from None


# --- resources and discovery ----------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A custom resource collection to list and watch."""

    group: str
    version: str
    plural: str
    namespace: str | None = None  # None: all namespaces
    label_selector: str | None = None

    def describe(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        selector = f", selector {self.label_selector}" if self.label_selector else ""
        return f"{self.plural}.{self.group} in {where}{selector}"


def has_status_subresource(
    api_client: k8s.ApiClient, group: str, version: str, plural: str
) -> bool:
    """Whether `/apis/<group>/<version>` lists `<plural>/status` (CRD `subresources.status`)."""
    api = k8s.CustomObjectsApi(api_client)
    with translated_errors():
        resource_list = api.get_api_resources(group, version)
    resources = resource_list.resources if hasattr(resource_list, "resources") else None
    if resources is None and isinstance(resource_list, dict):
        resources = resource_list.get("resources", [])
    names = set()
    for item in resources or []:
        name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
        if name:
            names.add(name)
    if plural not in names:
        raise ApiError(404, f"resource {plural}.{group}/{version} is not served by the API server")
    return f"{plural}/status" in names


def object_key(obj: Obj) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


# --- informer -------------------------------------------------------------------------------------


class _ExpiredError(Exception):
    """The watch's resourceVersion is too old (HTTP 410 / ERROR event with code 410)."""


class Informer:
    """List + watch one resource, keep a cache, call handlers for every change.

    Handlers run on the informer thread and should be quick (enqueue a key, notify a waiter).
    After a re-list the cache is diffed against the new list, so handlers see ADDED/MODIFIED for
    changed objects and DELETED for objects that vanished while the stream was down.
    """

    def __init__(
        self,
        api_client: k8s.ApiClient,
        resource: Resource,
        name: str | None = None,
        watch_timeout: int = 30,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self._api = k8s.CustomObjectsApi(api_client)
        self.resource = resource
        self.name = name or resource.plural
        self._watch_timeout = max(1, int(watch_timeout))
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._handlers: list[EventHandler] = []
        self._cache: dict[tuple[str, str], Obj] = {}
        self._changed = threading.Condition()
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response_lock = threading.Lock()
        self._response: Any = None
        self._resource_version: str | None = None

    # public API

    def add_handler(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._response_lock:
            response = self._response
        if response is not None:
            # Interrupt a blocked read from another thread (urllib3 >= 2.3).
            with contextlib.suppress(Exception):
                response.shutdown()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_synced(self, timeout: float) -> bool:
        """True once the first list has been loaded into the cache."""
        return self._synced.wait(timeout)

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._changed:
            return self._cache.get((namespace, name))

    def items(self) -> list[Obj]:
        with self._changed:
            return list(self._cache.values())

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        stop: threading.Event | None = None,
    ) -> bool:
        """Block until `predicate()` holds (re-checked on every cache change) or the deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if predicate():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set() or (stop is not None and stop.is_set()):
                    return False
                # Bounded wait so an external `stop` event is noticed without a notification.
                self._changed.wait(min(remaining, 0.5))

    # internals

    def _run(self) -> None:
        backoff = self._backoff_initial
        while not self._stop.is_set():
            try:
                if self._resource_version is None:
                    self._relist()
                    backoff = self._backoff_initial
                self._watch_once()
                backoff = self._backoff_initial
            except _ExpiredError:
                logger.info("%s: resourceVersion expired, re-listing", self.resource.describe())
                self._resource_version = None
            except Exception as error:
                if self._stop.is_set():
                    break
                logger.warning(
                    "%s: watch failed (%s); retrying in %.1f s",
                    self.resource.describe(),
                    " ".join(str(error).split())[:300] or type(error).__name__,
                    backoff,
                )
                if self._stop.wait(backoff * (1 + random.random() * 0.2)):
                    break
                backoff = min(backoff * 2, self._backoff_max)

    def _list_call(self, **kwargs: Any) -> Any:
        r = self.resource
        if r.namespace:
            return self._api.list_namespaced_custom_object(
                r.group, r.version, r.namespace, r.plural, label_selector=r.label_selector, **kwargs
            )
        return self._api.list_cluster_custom_object(
            r.group, r.version, r.plural, label_selector=r.label_selector, **kwargs
        )

    def _relist(self) -> None:
        result = self._list_call(_request_timeout=(10, 60))
        items = result.get("items") or []
        fresh: dict[tuple[str, str], Obj] = {object_key(item): item for item in items}
        events: list[tuple[str, Obj, Obj | None]] = []
        with self._changed:
            old = self._cache
            for key, obj in fresh.items():
                previous = old.get(key)
                if previous is None:
                    events.append((ADDED, obj, None))
                elif _rv(previous) != _rv(obj):
                    events.append((MODIFIED, obj, previous))
            for key, previous in old.items():
                if key not in fresh:
                    events.append((DELETED, previous, previous))
            self._cache = fresh
            self._resource_version = (result.get("metadata") or {}).get("resourceVersion") or "0"
            self._changed.notify_all()
        self._synced.set()
        for event in events:
            self._dispatch(*event)

    def _watch_once(self) -> None:
        try:
            response = self._list_call(
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=self._resource_version,
                timeout_seconds=self._watch_timeout,
                _preload_content=False,
                _request_timeout=(10, self._watch_timeout + 15),
            )
        except ApiException as error:
            if error.status == 410:
                raise _ExpiredError() from None
            raise
        with self._response_lock:
            self._response = response
        try:
            if self._stop.is_set():
                return
            for line in _lines(response):
                if self._stop.is_set():
                    return
                if line.strip():
                    self._handle_line(line)
        finally:
            with self._response_lock:
                self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()

    def _handle_line(self, line: bytes) -> None:
        event = json.loads(line)
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410 or obj.get("reason") in ("Expired", "Gone"):
                raise _ExpiredError()
            raise ApiError(int(obj.get("code") or 0), str(obj.get("message") or obj))
        rv = _rv(obj)
        if kind == "BOOKMARK":
            if rv:
                self._resource_version = rv
            return
        if kind not in (ADDED, MODIFIED, DELETED):
            return
        key = object_key(obj)
        with self._changed:
            previous = self._cache.get(key)
            if kind == DELETED:
                self._cache.pop(key, None)
            else:
                self._cache[key] = obj
            if rv:
                self._resource_version = rv
            self._changed.notify_all()
        if kind == ADDED and previous is not None:
            kind = MODIFIED
        self._dispatch(kind, obj, previous)

    def _dispatch(self, kind: str, obj: Obj, previous: Obj | None) -> None:
        for handler in self._handlers:
            try:
                handler(kind, obj, previous)
            except Exception:
                logger.exception("%s: handler failed for %s event", self.name, kind)


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _lines(response: Any) -> Iterator[bytes]:
    """Yield newline-delimited chunks of a streaming urllib3 response."""
    buffer = b""
    for chunk in response.stream(amt=65536, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line
    if buffer.strip():
        yield buffer
