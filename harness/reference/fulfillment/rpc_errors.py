"""Failures of an RPC, each carrying the gRPC status code and the message the client sees."""

from __future__ import annotations

import grpc

# A status message travels as a header (grpc-message, percent-encoded: up to 3 bytes for each
# byte of UTF-8), and clients refuse headers over 16 KiB (grpc's hard limit): a message quoting
# a huge id must stay a NOT_FOUND, not become the client's RESOURCE_EXHAUSTED.
MAX_MESSAGE_BYTES = 1000


def bounded(message: str) -> str:
    """`message`, its middle cut when it is too long to travel as a status message."""
    data = message.encode("utf-8")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    half = (MAX_MESSAGE_BYTES - 40) // 2
    head = data[:half].decode("utf-8", "ignore")
    tail = data[-half:].decode("utf-8", "ignore")
    return f"{head}…[{len(data) - 2 * half} bytes cut]…{tail}"


class RpcFailure(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        message = bounded(message)
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_argument(message: str) -> RpcFailure:
    return RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RpcFailure:
    return RpcFailure(grpc.StatusCode.NOT_FOUND, message)


def internal(message: str) -> RpcFailure:
    return RpcFailure(grpc.StatusCode.INTERNAL, message)


# HTTP status of a failed Kubernetes call -> gRPC code. 422 carries the API server's own message
# (schema and CEL rule violations such as "cores is immutable"), so it becomes INVALID_ARGUMENT.
_BY_HTTP_STATUS: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.INTERNAL,
    403: grpc.StatusCode.INTERNAL,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    410: grpc.StatusCode.ABORTED,
    415: grpc.StatusCode.INTERNAL,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def code_for_http_status(status: int) -> grpc.StatusCode:
    if status == 0:
        return grpc.StatusCode.UNAVAILABLE
    if status in _BY_HTTP_STATUS:
        return _BY_HTTP_STATUS[status]
    return grpc.StatusCode.UNAVAILABLE if status >= 500 else grpc.StatusCode.UNKNOWN
