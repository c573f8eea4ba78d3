"""Reading request bodies: the size limit, and the errors for bodies that are not JSON.

kube-apiserver reads at most 3 MiB of a request body (`MaxRequestBodyBytes`) and answers 413
for anything longer, whether it came with a Content-Length or chunked. A body that is not
JSON is answered with the Go decoder's text, in the frame each kind of request puts it in:
objects (`the object provided is unrecognized ...`), patches (`invalid JSON patch`) and
DeleteOptions (`couldn't get version/kind ...`).
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.reference.apiserver import go_json
from harness.reference.apiserver.status_errors import ApiError, bad_request

MAX_BODY = 3 * 1024 * 1024
READ_CHUNK = 64 * 1024
PARSE_ERROR = "couldn't get version/kind; json parse error"
KIND_PROBE = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)


class BodyStream(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


def too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")


async def read_limited(stream: BodyStream, content_length: int | None) -> bytes:
    """At most MAX_BODY bytes of the body, or 413 (without reading a declared oversize one)."""
    if content_length is not None and content_length > MAX_BODY:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large()
        chunks.append(chunk)


def unrecognized(kind: str, detail: str, raw: bytes) -> ApiError:
    return bad_request(
        f"the object provided is unrecognized (must be of type {kind}): {detail} "
        f"({go_json.summarize(raw)})"
    )


def cannot_handle(body_kind: str, version: str, kind: str, detail: str) -> ApiError:
    prefix = f'{body_kind} in version "{version}" cannot be handled as a {kind}'
    return bad_request(f"{prefix}: {detail}")


def object_value(raw: bytes, kind: str, version: str, custom: bool = False) -> Any:
    """The decoded body of a create or update of `kind`; anything but an object is refused
    (`null` is an empty object to a built-in type, a body without kind to a custom one)."""
    try:
        value = go_json.decode(raw)
    except go_json.SyntaxFailure as failure:
        detail = f"{PARSE_ERROR}: {failure.message}"
        raise unrecognized(kind, detail, raw) from None
    except go_json.NumberOverflow as overflow:
        detail = f"json: cannot unmarshal number {overflow.literal} into Go value of type float64"
        raise cannot_handle(kind, version, kind, detail) from None
    if value is None:
        if not custom:
            return {}
        raise unrecognized(kind, "Object 'Kind' is missing in 'null'", raw)
    if not isinstance(value, dict):
        detail = (
            f"{PARSE_ERROR}: json: cannot unmarshal "
            f"{go_json.go_type(value)} into Go value of type {KIND_PROBE}"
        )
        raise unrecognized(kind, detail, raw)
    for key, field in (("apiVersion", value.get("apiVersion")), ("kind", value.get("kind"))):
        if field is not None and not isinstance(field, str):
            detail = (
                f"{PARSE_ERROR}: json: cannot unmarshal "
                f"{go_json.go_type(field)} into Go struct field .{key} of type string"
            )
            raise unrecognized(kind, detail, raw)
    return value


def patch_value(raw: bytes) -> Any:
    """A PATCH body; its shape is checked by the patch type (`patch.py`)."""
    try:
        return go_json.decode(raw)
    except (go_json.SyntaxFailure, go_json.NumberOverflow):
        raise bad_request("invalid JSON patch") from None


def delete_options_value(raw: bytes) -> Any:
    """A DELETE body (DeleteOptions), or None when there is none."""
    if not raw.strip():
        return None
    try:
        value = go_json.decode(raw)
    except go_json.SyntaxFailure as failure:
        raise bad_request(f"{PARSE_ERROR}: {failure.message}") from None
    except go_json.NumberOverflow:
        raise bad_request(f"{PARSE_ERROR}: number out of range") from None
    if value is not None and not isinstance(value, dict):
        raise bad_request(
            f"{PARSE_ERROR}: json: cannot unmarshal "
            f"{go_json.go_type(value)} into Go value of type {KIND_PROBE}"
        )
    return value
