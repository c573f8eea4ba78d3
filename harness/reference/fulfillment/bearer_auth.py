"""Bearer-token authentication and the admin rule for private methods.

Like the Authorino configuration of the real deployment (contract §11.5): reflection
and health are open, every other method needs `authorization: Bearer <token>`, and the methods
of the private service need an admin subject. Who a token stands for comes from a token
source: the tokens file (`StaticTokens`, the embedded stack) or the Kubernetes API's
TokenReview (`token_review.TokenReviewSource`, the real control plane). The identity of the
caller is handed to the RPC method through a context variable set in the worker thread that
runs it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from harness.reference.fulfillment.token_review import ReviewUnavailable
from harness.reference.fulfillment.tokens import Identity

OPEN_SERVICES = frozenset(
    {health.SERVICE_NAME, reflection.SERVICE_NAME, "grpc.reflection.v1.ServerReflection"}
)

_current: contextvars.ContextVar[Identity] = contextvars.ContextVar("fulfillment_identity")


def current_identity() -> Identity:
    """The authenticated caller of the RPC running in this thread."""
    return _current.get()


def service_of(method: str) -> str:
    """`/pkg.Service/Method` -> `pkg.Service`."""
    return method.strip("/").split("/", 1)[0]


class Denied(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenSource(Protocol):
    description: str
    """Where identities come from, for messages ("the tokens file", "TokenReview")."""

    admins: tuple[str, ...]
    """The admin subjects, for the message that refuses everyone else."""

    def identify(self, token: str) -> Identity | None:
        """The token's identity, or None when it stands for no one."""
        ...


class StaticTokens:
    """The tokens file's tokens; its admins are the entries marked `admin`."""

    description = "the tokens file"

    def __init__(self, tokens: Mapping[str, Identity]) -> None:
        self._tokens = dict(tokens)
        self.admins = tuple(sorted({i.subject for i in self._tokens.values() if i.admin}))

    def identify(self, token: str) -> Identity | None:
        return self._tokens.get(token)


class Authenticator:
    def __init__(
        self, tokens: Mapping[str, Identity] | TokenSource, admin_services: Iterable[str]
    ) -> None:
        self._source: TokenSource = StaticTokens(tokens) if isinstance(tokens, Mapping) else tokens
        self._admin_services = frozenset(admin_services)

    def is_open(self, method: str) -> bool:
        return service_of(method) in OPEN_SERVICES

    def authenticate(self, method: str, metadata: Iterable[tuple[str, Any]]) -> Identity:
        """Return the caller's identity or raise `Denied` with the status to answer."""
        values = [value for key, value in metadata if key == "authorization"]
        if not values:
            raise Denied(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing credentials: send metadata 'authorization: Bearer <token>'",
            )
        scheme, _, token = str(values[0]).strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Denied(
                grpc.StatusCode.UNAUTHENTICATED,
                "malformed authorization metadata: expected 'Bearer <token>'",
            )
        source = self._source
        try:
            identity = source.identify(token.strip())
        except ReviewUnavailable as error:
            raise Denied(grpc.StatusCode.UNAVAILABLE, f"cannot check the token: {error}") from None
        if identity is None:
            raise Denied(
                grpc.StatusCode.UNAUTHENTICATED,
                f"invalid token: not known to this server ({source.description})",
            )
        if service_of(method) in self._admin_services and not identity.admin:
            admins = ", ".join(source.admins) or "none"
            raise Denied(
                grpc.StatusCode.PERMISSION_DENIED,
                f"subject '{identity.subject}' may not call {method}: the private API is for "
                f"administrators only, and '{identity.subject}' is not one of its admin "
                f"subjects ({admins})",
            )
        return identity


def _abort_handler(handler: grpc.RpcMethodHandler, denied: Denied) -> grpc.RpcMethodHandler:
    """Refuses the call without decoding its request: garbage from a caller who has not
    authenticated is UNAUTHENTICATED, never a decoding error."""

    def abort(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(denied.code, denied.message)

    kwargs = {"request_deserializer": None, "response_serializer": handler.response_serializer}
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(abort, **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(abort, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(abort, **kwargs)
    return grpc.stream_stream_rpc_method_handler(abort, **kwargs)


def _with_identity(handler: grpc.RpcMethodHandler, identity: Identity) -> grpc.RpcMethodHandler:
    behavior: Callable[[Any, grpc.ServicerContext], Any] = handler.unary_unary

    def run(request: Any, context: grpc.ServicerContext) -> Any:
        token = _current.set(identity)
        try:
            return behavior(request, context)
        finally:
            _current.reset(token)

    return grpc.unary_unary_rpc_method_handler(
        run,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or self._authenticator.is_open(method):
            return handler
        try:
            identity = self._authenticator.authenticate(
                method, handler_call_details.invocation_metadata or ()
            )
        except Denied as denied:
            return _abort_handler(handler, denied)
        if not handler.unary_unary:
            # Every ComputeInstances method is unary; anything else gets no identity.
            return handler
        return _with_identity(handler, identity)
