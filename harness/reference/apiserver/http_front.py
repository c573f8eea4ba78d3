"""HTTP: one aiohttp handler that authenticates the caller (`auth/`), resolves the path, checks
the request and renders Status errors (in protobuf when the client prefers it).

aiohttp's low-level `web.Server` calls `handle` for every request: no router, no middleware,
routing is one `str.split` and a few dict lookups (`routes.py`). aiohttp sets TCP_NODELAY on
every accepted connection (`BaseProtocol.connection_made`), keeps connections alive and streams
watches with chunked encoding.

Resource requests pass the gates (`--fault` specs, then AccessRules; `gates.py`) only while
one is active: latency is slept first, `Deny`/`Fail` answer with their Status, `Reset` closes
the socket with a TCP reset and no answer; on a watch, `Fail` ends the stream cleanly and
`Reset` resets it, each after the stream's first batch of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from typing import Any

from aiohttp import web

from harness.reference.apiserver import kube_protobuf, media_types, object_decoding
from harness.reference.apiserver import object_meta as meta
from harness.reference.apiserver import request_body as body_of
from harness.reference.apiserver.auth import access_review, self_subject_review, token_request
from harness.reference.apiserver.auth.authentication import authenticate
from harness.reference.apiserver.auth.authorization import refusal, unauthenticated_refusal
from harness.reference.apiserver.auth.identity import Attributes, UserInfo
from harness.reference.apiserver.auth.impersonation import Impersonation
from harness.reference.apiserver.core import ApiServer
from harness.reference.apiserver.gates import (
    ACCESS_RULE,
    DENY,
    FAULT,
    RESET,
    Effect,
    Verdict,
)
from harness.reference.apiserver.media_types import BodyType, DropConnection
from harness.reference.apiserver.object_store import dumps
from harness.reference.apiserver.patch import APPLY, JSON_PATCH, MERGE, STRATEGIC
from harness.reference.apiserver.registry import Registry
from harness.reference.apiserver.request_info import request_info
from harness.reference.apiserver.request_log import RequestLog
from harness.reference.apiserver.request_options import (
    check_list_options,
    parse_int64,
    query_bool,
    write_options,
)
from harness.reference.apiserver.routes import (
    Discovery,
    Health,
    NotRouted,
    OpenApiPath,
    ResourcePath,
    resolve,
)
from harness.reference.apiserver.schema import openapi
from harness.reference.apiserver.status_errors import (
    ApiError,
    method_not_allowed,
    path_not_found,
)
from harness.reference.apiserver.tables import Tables, negotiate
from harness.reference.apiserver.verbs import DeleteOptions
from harness.reference.apiserver.watch import bookmark_line, error_line

log = logging.getLogger("apiserver.http")

JSON_HEADERS = {"Content-Type": "application/json"}
DEFAULT_WATCH_TIMEOUT = 1800.0
RESOURCE_VERSION_WAIT = 3.0
PATCH_TYPES = (MERGE, JSON_PATCH, STRATEGIC, APPLY)
TOKEN_REQUEST = BodyType("authentication.k8s.io/v1", "TokenRequest")
# How long a reset request's handler waits for aiohttp to cancel it (it does at once).
RESET_GRACE = 5.0


class ConnectionReset(Exception):
    """A `Reset` effect: answer nothing, reset the connection."""

    def __init__(self, effect: Effect) -> None:
        super().__init__(effect.source)
        self.effect = effect


class HttpFront:
    """The aiohttp side of one `ApiServer`."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.verbs = server.verbs
        self.registry = server.registry
        self.store = server.store
        self.hub = server.hub
        self.gc = server.gc
        self.tokens = server.tokens
        self.authorizer = server.authorizer
        self.faults = server.faults
        self.request_log = server.request_log
        self.bookmark_interval = server.bookmark_interval
        self.impersonation = Impersonation()
        self._flusher: asyncio.Task[None] | None = None

    def runner(self) -> web.ServerRunner:
        """aiohttp's low-level server: one handler, no router or application signals."""
        server = web.Server(
            self.handle,
            request_factory=_request_factory,
            handler_cancellation=True,
            access_log=None,
        )
        return web.ServerRunner(server, shutdown_timeout=2.0)

    async def started(self) -> None:
        self.gc.attach(asyncio.get_running_loop())
        if self.request_log is not None:
            self._flusher = asyncio.create_task(self._flush_periodically(self.request_log))

    async def stopping(self) -> None:
        """End every watch stream, so that the runner's cleanup does not wait for them."""
        self.hub.close_all()
        if self._flusher is not None:
            self._flusher.cancel()
        if self.request_log is not None:
            self.request_log.close()

    @staticmethod
    async def _flush_periodically(request_log: RequestLog) -> None:
        while True:
            await asyncio.sleep(0.2)
            request_log.flush()

    # --- the one handler ------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        query = dict(request.query)
        info = request_info(request.method, request.path, query)
        requestor: UserInfo | None = None
        user: UserInfo | None = None
        details: dict[str, Any] = {}
        accept = request.headers.get("Accept")
        reset = dropped = False
        try:
            requestor = authenticate(request.headers.get("Authorization"), self.tokens)
            user = self.impersonation.apply(requestor, request.headers, info, self._may)
            refused = unauthenticated_refusal(user, info)
            if refused is not None:
                raise refused
            target = resolve(request.path, self.registry)
            if isinstance(target, ResourcePath):
                details = _resource_details(target)
                drop = None
                if self.authorizer.active or self.faults.active:
                    drop = await self._gate(info.attributes(user.name), details)
                media_types.check_acceptable(accept, target.resource, info.verb)
                if target.subresource == "token":
                    response = await self._token_request(request, target, info.verb, query)
                elif not target.resource.stored:
                    response = await self._unstored(request, target, user, info.verb, query)
                elif info.verb == "watch":
                    response = await self._watch(request, target, query, drop)
                else:
                    response = await self._resource(request, target, query, info.verb)
            else:
                response = self._non_resource(request, target)
        except ApiError as error:
            response = _error_response(error, media_types.error_in_protobuf(accept))
        except NotRouted:
            response = web.Response(status=404, text="404 page not found\n")
        except ConnectionReset:
            reset = True
        except DropConnection as why:
            log.info("%s: closing the connection without an answer", why)
            reset = dropped = True
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            response = _error_response(ApiError(500, "InternalError", "internal server error"))
        if self.request_log is not None:
            if user is not None and requestor is not None and user is not requestor:
                details["impersonatedUser"] = user.name
            self.request_log.record(
                user=requestor.name if requestor is not None else None,
                verb=info.verb,
                path=request.path,
                query=query,
                status=0 if reset else response.status,
                started=started,
                extra=details,
            )
        if reset:
            return await _reset_connection(request, linger=dropped)
        return response

    def _may(self, attributes: Attributes) -> bool:
        """Authorization of an impersonation check: allowed unless a Deny AccessRule matches."""
        return self.server.policy.denying_rule(attributes) is None

    async def _gate(self, attributes: Attributes, details: dict[str, Any]) -> Effect | None:
        """Apply the gates' verdict; returns the effect that will drop a watch stream."""
        verb = attributes.verb
        verdict = Verdict()
        for gate in (self.faults, self.authorizer):
            if gate.active:
                gate.judge(attributes, verdict)
        if not verdict.effects:
            return None
        for origin in (FAULT, ACCESS_RULE):
            names = [effect.name for effect in verdict.effects if effect.origin == origin]
            if names:
                details[origin] = names
        if verdict.latency:
            details["latencyMs"] = round(verdict.latency * 1000)
            await asyncio.sleep(verdict.latency)
        final = verdict.final
        if final is None:
            return None
        if verb == "watch" and final.kind != DENY:
            return final
        log.info("%s: %s on %s %s", final.source, final.kind, verb, _describe(attributes))
        if final.kind == RESET:
            raise ConnectionReset(final)
        raise refusal(final, attributes)

    async def _unstored(
        self,
        request: web.BaseRequest,
        target: ResourcePath,
        user: UserInfo,
        verb: str,
        query: dict[str, str],
    ) -> web.Response:
        """Resources without storage, which only answer create: SelfSubjectReview and the
        access reviews."""
        resource = target.resource
        if target.name is not None:
            raise path_not_found()
        if verb not in resource.verbs:
            raise method_not_allowed(
                "the server does not allow this method on the requested resource"
            )
        body = await _object_body(request, BodyType.of(resource), query)
        if resource.plural in access_review.KINDS:
            review = access_review.review(
                resource.plural, user.name, body, self.server.policy, meta.now_rfc3339()
            )
        else:
            review = self_subject_review.review(user, body, meta.now_rfc3339())
        return _json(201, dumps(review))

    async def _token_request(
        self, request: web.BaseRequest, target: ResourcePath, verb: str, query: dict[str, str]
    ) -> web.Response:
        if verb != "create":
            raise method_not_allowed()
        assert target.name is not None and target.namespace is not None
        self.verbs.get(target.resource, target.namespace, target.name)  # 404 unless it exists
        body = await _object_body(request, TOKEN_REQUEST, query)
        answer = token_request.issue(
            self.tokens, target.namespace, target.name, body, meta.now_rfc3339()
        )
        return _json(201, dumps(answer))

    def _non_resource(self, request: web.BaseRequest, target: Any) -> web.Response:
        if request.method != "GET":
            raise method_not_allowed()
        if isinstance(target, Health):
            return web.Response(text="ok")
        if isinstance(target, OpenApiPath):
            body = openapi.document(target.key, self.registry)
            if body is None:
                raise path_not_found()
            return web.Response(body=body, headers=JSON_HEADERS)
        assert isinstance(target, Discovery)
        if target.key == "root":
            return web.Response(
                body=dumps({"paths": _root_paths(self.registry)}), headers=JSON_HEADERS
            )
        body = self.registry.document(target.key, self.server.server_address)
        if body is None:
            raise path_not_found()
        return web.Response(body=body, headers=JSON_HEADERS)

    async def _resource(
        self, request: web.BaseRequest, target: ResourcePath, query: dict[str, str], verb: str
    ) -> web.Response:
        verbs = self.verbs
        resource = target.resource
        namespace = target.namespace or ""
        status_sub = target.subresource == "status"
        table = negotiate(request.headers.get("Accept"), query)
        tables = Tables(resource, table) if table is not None else None
        raw_query = list(request.query.items())

        def answer(status: int, entry: Any) -> web.Response:
            body = verbs.render(resource, entry)
            return _json(status, body if tables is None else tables.object(body))

        if target.name is None and verb in ("get", "update", "patch", "delete"):
            # PUT, PATCH on a collection (a GET or DELETE there is a list or deletecollection):
            # kube-apiserver has no such route.
            raise method_not_allowed(
                "the server does not allow this method on the requested resource"
            )

        if verb == "get":
            assert target.name is not None  # refused above
            return answer(200, verbs.get(resource, namespace, target.name))
        if verb == "list":
            check_list_options(query)
            await self._catch_up(query.get("resourceVersion", ""))
            listed = verbs.list(resource, target.namespace, query)
            return _json(200, listed if tables is None else tables.list(listed))
        if verb == "create":
            if target.name is not None:
                raise method_not_allowed()
            if resource.namespaced and target.namespace is None:
                raise method_not_allowed("create needs a namespace in the path")
            body = await self._typed_body(request, resource, query)
            options = write_options("CreateOptions", query, raw_query)
            return answer(201, verbs.create(resource, namespace, body, dry_run=options.dry_run))
        if verb == "update":
            assert target.name is not None
            body = await self._typed_body(request, resource, query)
            options = write_options("UpdateOptions", query, raw_query)
            replaced = verbs.replace(
                resource, namespace, target.name, body, status_sub, dry_run=options.dry_run
            )
            return answer(200, replaced)
        if verb == "patch":
            assert target.name is not None
            content_type = _content_type(request)
            if content_type not in PATCH_TYPES or content_type == APPLY:
                raise media_types.unsupported_patch(resource)
            if content_type == STRATEGIC and not resource.strategic_merge:
                raise media_types.unsupported_patch(resource)
            raw = await _read(request)
            options = write_options("PatchOptions", query, raw_query)
            body = body_of.patch_value(raw)
            patched = verbs.patch(
                resource,
                namespace,
                target.name,
                body,
                content_type,
                status_sub,
                dry_run=options.dry_run,
            )
            return answer(200, patched)
        if verb == "delete":
            assert target.name is not None
            options = DeleteOptions.parse(await _options_body(request), query, raw_query)
            deletion = verbs.delete(resource, namespace, target.name, options)
            return _json(*verbs.deletion_answer(resource, deletion, options))
        if verb == "deletecollection":
            check_list_options(query)
            options = DeleteOptions.parse(await _options_body(request), query, raw_query)
            return _json(200, verbs.delete_collection(resource, target.namespace, query, options))
        raise method_not_allowed()

    async def _catch_up(self, requested: str) -> None:
        """A list at a resourceVersion the store has not reached waits a little for it, as
        kube-apiserver waits for its cache (then 504)."""
        if not (requested.isascii() and requested.isdigit()):
            return
        deadline = time.monotonic() + RESOURCE_VERSION_WAIT
        while int(requested) > self.store.revision and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _typed_body(
        self, request: web.BaseRequest, resource: Any, query: dict[str, str]
    ) -> dict[str, Any]:
        """A create or update body, decoded as kube-apiserver decodes `resource`'s type."""
        raw = await _read(request)
        body: dict[str, Any] = media_types.object_body(
            raw, _content_type(request), BodyType.of(resource), query
        )
        object_decoding.check(resource, self.registry, body, raw)
        return body

    async def _watch(
        self,
        request: web.BaseRequest,
        target: ResourcePath,
        query: dict[str, str],
        drop: Effect | None = None,
    ) -> web.StreamResponse:
        timeout = _watch_timeout(query.get("timeoutSeconds"))
        bookmarks = query_bool(query.get("allowWatchBookmarks"))
        table = negotiate(request.headers.get("Accept"), query)
        encode = Tables(target.resource, table).watch_lines if table is not None else _as_is
        response = web.StreamResponse(status=200, headers=JSON_HEADERS)
        response.enable_chunked_encoding()
        if not timeout:
            await response.prepare(request)
            await response.write_eof()
            return response
        try:
            watcher, initial = self.verbs.open_watch(target.resource, target.namespace, query)
        except ApiError as error:
            if error.code != 410:
                raise
            await response.prepare(request)
            await response.write(error_line(error.status()))
            await response.write_eof()
            return response
        loop = asyncio.get_running_loop()
        handles = [loop.call_later(timeout, watcher.close)]
        resource = target.resource
        if bookmarks:

            def bookmark() -> None:
                watcher.push(
                    bookmark_line(resource.api_version, resource.kind, self.store.revision)
                )
                handles.append(loop.call_later(self.bookmark_interval, bookmark))

            handles.append(loop.call_later(self.bookmark_interval, bookmark))
        try:
            await response.prepare(request)
            sent = False
            if initial:
                await response.write(encode(b"".join(initial)))
                sent = True
            while not watcher.closed and not (sent and drop is not None):
                await watcher.wakeup.wait()
                watcher.wakeup.clear()
                if watcher.pending:
                    await response.write(encode(watcher.drain()))
                    sent = True
            if drop is not None and sent:
                # Dropped early: the client must resume from the last resourceVersion it saw.
                log.info("%s: %s drops the watch of %s", drop.source, drop.kind, request.path_qs)
                if drop.kind == RESET:
                    return await _reset_connection(request)
            elif watcher.pending:
                await response.write(encode(watcher.drain()))
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unregister(watcher)
            for handle in handles:
                handle.cancel()
        return response


def _as_is(chunk: bytes) -> bytes:
    return chunk


def _request_factory(*args: Any) -> web.BaseRequest:
    """aiohttp's default request; bodies are read with kube-apiserver's limit (`_read`)."""
    return web.BaseRequest(*args, asyncio.get_running_loop(), client_max_size=body_of.MAX_BODY + 1)


def _resource_details(target: ResourcePath) -> dict[str, Any]:
    details: dict[str, Any] = {"resource": target.resource.plural}
    if target.resource.group:
        details["group"] = target.resource.group
    if target.namespace:
        details["namespace"] = target.namespace
    if target.name:
        details["name"] = target.name
    if target.subresource:
        details["subresource"] = target.subresource
    return details


def _json(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, headers=JSON_HEADERS)


def _error_response(error: ApiError, protobuf: bool = False) -> web.Response:
    if protobuf:
        headers = {"Content-Type": kube_protobuf.MEDIA_TYPE}
        body = kube_protobuf.encode_status(error.status())
    else:
        headers, body = dict(JSON_HEADERS), dumps(error.status())
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return web.Response(status=error.code, body=body, headers=headers)


async def _reset_connection(request: web.BaseRequest, linger: bool = False) -> web.StreamResponse:
    """Close the socket with no answer, with a TCP reset (SO_LINGER 0) unless `linger`; aiohttp
    then cancels this handler (`handler_cancellation`), so nothing is written after it."""
    transport = request.transport
    if transport is not None and linger:
        transport.close()
    elif transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    await asyncio.sleep(RESET_GRACE)
    return web.Response(status=500)


def _describe(attributes: Any) -> str:
    where = f"{attributes.namespace}/" if attributes.namespace else ""
    what = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
    return f"{what} {where}{attributes.name} by {attributes.user}".replace("  ", " ")


async def _read(request: web.BaseRequest) -> bytes:
    return await body_of.read_limited(request.content, request.content_length)


async def _object_body(request: web.BaseRequest, body: BodyType, query: dict[str, str]) -> Any:
    return media_types.object_body(await _read(request), _content_type(request), body, query)


def _content_type(request: web.BaseRequest) -> str:
    """The request's media type, "" without a Content-Type header or with a blank one, as Go
    reads it (aiohttp would say application/octet-stream, which kube-apiserver refuses when
    it is sent)."""
    return request.content_type if request.headers.get("Content-Type", "").strip() else ""


async def _options_body(request: web.BaseRequest) -> Any:
    if not request.body_exists:
        return None
    return body_of.delete_options_value(await _read(request))


def _watch_timeout(value: str | None) -> float:
    """kube-apiserver's: unset or 0 is its default; a negative one ends the watch at once."""
    if value is None:
        return DEFAULT_WATCH_TIMEOUT
    seconds = parse_int64(value)
    return DEFAULT_WATCH_TIMEOUT if seconds == 0 else max(seconds, 0)


def _root_paths(registry: Registry) -> list[str]:
    paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
    for group in registry.groups():
        paths.append(f"/apis/{group}")
        paths.extend(f"/apis/{group}/{version}" for version in registry.group_versions(group))
    return sorted(paths)
