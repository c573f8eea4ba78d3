"""Byte-exact requests for hostile-input checks: any body (not JSON, invalid UTF-8, chunked,
oversized), sent with the server address, TLS settings and credentials of an official client's
configuration, so the checks run unchanged against any server a kubeconfig points at."""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kubernetes import client

from .helpers import READ_TIMEOUT

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # decoded JSON, or the text when it is not JSON
    headers: dict[str, str]

    @property
    def reason(self) -> str | None:
        return self.body.get("reason") if isinstance(self.body, dict) else None

    @property
    def message(self) -> str | None:
        return self.body.get("message") if isinstance(self.body, dict) else None


def _connection(config: client.Configuration) -> http.client.HTTPConnection:
    url = urlsplit(config.host)
    if url.scheme != "https":
        return http.client.HTTPConnection(url.hostname, url.port, timeout=READ_TIMEOUT)
    context = ssl.create_default_context(cafile=config.ssl_ca_cert)
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file)
    if not config.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(
        url.hostname, url.port, timeout=READ_TIMEOUT, context=context
    )


def _headers(config: client.Configuration, content_type: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    bearer = config.auth_settings().get("BearerToken") or {}
    if bearer.get("value"):
        headers[bearer["key"]] = bearer["value"]
    return headers


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), CHUNK):
        part = body[start : start + CHUNK]
        yield b"%x\r\n" % len(part) + part + b"\r\n"
    yield b"0\r\n\r\n"


def send(
    api_client: client.ApiClient,
    method: str,
    path: str,
    body: bytes | str | None = None,
    content_type: str | None = "application/json",
    chunked: bool = False,
) -> Answer:
    """One request; a server that answers before reading all of a large body (as
    kube-apiserver does past its limit) may close the socket mid-send: the answer is read
    regardless."""
    config = api_client.configuration
    raw = body.encode() if isinstance(body, str) else body
    headers = _headers(config, content_type if raw is not None else None)
    connection = _connection(config)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        elif raw is not None:
            headers["Content-Length"] = str(len(raw))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        with contextlib.suppress(OSError):
            if raw is not None:
                for piece in _chunks(raw) if chunked else (raw,):
                    connection.send(piece)
        response = connection.getresponse()
        data = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    text = data.decode("utf-8", errors="replace")
    try:
        decoded: Any = json.loads(text)
    except (ValueError, RecursionError):  # deeper than Python's decoder goes
        decoded = text
    return Answer(response.status, decoded, answer_headers)
