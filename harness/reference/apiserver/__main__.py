"""`python -m harness.reference.apiserver`: arguments, CRD and seed loading, serving."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Any, NoReturn

from harness.reference.runtime import (
    announce_ready,
    fail,
    install_stop_handler,
    start_component,
)

COMPONENT = "apiserver"


class InputError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(COMPONENT, message)
        raise AssertionError("unreachable")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m harness.reference.apiserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="TCP port, 0 picks a free one")
    parser.add_argument("--crd", action="append", default=[], type=Path, help="CRD YAML file")
    parser.add_argument("--seed", action="append", default=[], type=Path, help="objects to load")
    parser.add_argument("--tokens", type=Path, help='JSON {"tokens": [{"token", "user"}]}')
    parser.add_argument("--request-log", type=Path, help="append one JSON line per request")
    parser.add_argument(
        "--tls-cert",
        type=Path,
        help="serve HTTPS with this PEM certificate (default: a new CA and certificate)",
    )
    parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve plain HTTP instead of HTTPS (benchmarks of the server alone)",
    )
    parser.add_argument(
        "--watch-window", type=_positive, default=10_000, help="events kept for watch replay"
    )
    parser.add_argument(
        "--bookmark-interval",
        type=_positive_float,
        default=60.0,
        help="seconds between BOOKMARK events on watches that allow them",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="inject a fault, e.g. apiserver:error=503,rate=0.05 (harness/contract/fault_specs.py)",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the injected faults")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} out of range 0-65535")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not YAML (not UTF-8 text)") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        first_line = str(error).replace("\n", " ")
        raise InputError(f"{path} is not valid YAML: {first_line}") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise InputError(f"{path}: document {index + 1} is not a mapping")
    return documents


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start_component(COMPONENT, args.verbose)
    try:
        server = build_server(args)
    except InputError as error:
        fail(COMPONENT, str(error))
        return
    try:
        tls, authority = tls_context(args.tls_cert, args.tls_key, args.plain_http, args.host)
        asyncio.run(serve(server, args.host, args.port, tls, authority))
    except InputError as error:
        fail(COMPONENT, str(error))


def tls_context(
    cert: Path | None, key: Path | None, plain_http: bool, host: str
) -> tuple[ssl.SSLContext | None, str | None]:
    """HTTPS, as kube-apiserver serves only HTTPS, and the base64 PEM of the CA to trust when
    the server made its own; (None, None) with `--plain-http`."""
    if plain_http:
        if cert is not None or key is not None:
            raise InputError("--plain-http excludes --tls-cert and --tls-key")
        return None, None
    if cert is None and key is None:
        return _own_certificate(host)
    if cert is None or key is None:
        raise InputError("--tls-cert and --tls-key go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise InputError(f"cannot load --tls-cert {cert} / --tls-key {key}: {error}") from None
    return context, None


def _own_certificate(host: str) -> tuple[ssl.SSLContext, str]:
    """A new CA and a serving certificate for loopback (and `--host`), loaded from files that
    live only as long as the loading takes."""
    import base64
    import tempfile

    from harness.reference.tls import server_certificate, write_pem_files

    hosts = ["127.0.0.1", "localhost", "::1"]
    if host not in (*hosts, "0.0.0.0", "::", ""):
        hosts.append(host)
    pems = server_certificate(hosts)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="apiserver-tls-") as directory:
        _, cert, key = write_pem_files(Path(directory), pems)
        context.load_cert_chain(cert, key)
    return context, base64.b64encode(pems.ca).decode()


def build_server(args: argparse.Namespace) -> Any:
    from harness.contract.fault_specs import FaultSpecError, parse_faults
    from harness.reference.apiserver.auth.identity import TokenFileError, Tokens
    from harness.reference.apiserver.core import ApiServer
    from harness.reference.apiserver.request_log import RequestLog
    from harness.reference.apiserver.status_errors import ApiError

    try:
        faults = parse_faults(args.fault, COMPONENT)
    except FaultSpecError as error:
        raise InputError(str(error)) from None
    try:
        tokens = Tokens.load(args.tokens) if args.tokens else Tokens()
    except TokenFileError as error:
        raise InputError(str(error)) from None
    request_log = None
    if args.request_log:
        try:
            request_log = RequestLog(args.request_log)
        except OSError as error:
            raise InputError(
                f"cannot open request log {args.request_log}: {error.strerror}"
            ) from None
    server = ApiServer(
        watch_window=args.watch_window,
        tokens=tokens,
        request_log=request_log,
        bookmark_interval=args.bookmark_interval,
        faults=faults,
        fault_seed=args.fault_seed,
    )
    if faults:
        logging.getLogger(COMPONENT).info(
            "injecting faults (seed %d): %s", args.fault_seed, "; ".join(f.text for f in faults)
        )
    for path in args.crd:
        for document in load_yaml_documents(path):
            if document.get("kind") != "CustomResourceDefinition" or not str(
                document.get("apiVersion", "")
            ).startswith("apiextensions.k8s.io/"):
                raise InputError(
                    f"{path}: {document.get('kind', 'a document without kind')} is not a "
                    "CustomResourceDefinition"
                )
            try:
                server.verbs.create(server.verbs.crds, "", document)
            except ApiError as error:
                raise InputError(f"{path}: {error.message}") from None
    server.gc.run_until_idle()  # the CRDs are Established before their objects are seeded
    for path in args.seed:
        for document in load_yaml_documents(path):
            try:
                seed(server, document)
            except ApiError as error:
                raise InputError(f"{path}: {error.message}") from None
    server.gc.run_until_idle()
    return server


def seed(server: Any, document: dict[str, Any]) -> None:
    """Store one object as if created, keeping its status (an administrative load)."""
    from harness.reference.apiserver.status_errors import ApiError

    api_version = document.get("apiVersion")
    kind = document.get("kind")
    resource = server.registry.by_kind(api_version, kind)
    if resource is None or not resource.stored:
        raise ApiError(404, "NotFound", f"no resource for apiVersion {api_version!r} kind {kind!r}")
    metadata = document.get("metadata") or {}
    namespace = metadata.get("namespace", "default") if resource.namespaced else ""
    if resource.plural == "namespaces" and server.store.get("namespaces", "", metadata.get("name")):
        return
    server.verbs.create(resource, namespace, document, keep_status=True)


async def serve(
    server: Any,
    host: str,
    port: int,
    tls: ssl.SSLContext | None = None,
    authority: str | None = None,
) -> None:
    from aiohttp import web

    from harness.reference.apiserver.http_front import HttpFront

    front = HttpFront(server)
    runner = front.runner()
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=tls)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    await front.started()
    actual_port = runner.addresses[0][1]
    url = f"{'https' if tls else 'http'}://{host}:{actual_port}"
    server.server_address = f"{host}:{actual_port}"
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    install_stop_handler(lambda: loop.call_soon_threadsafe(stop.set))
    trust = {"certificate_authority_data": authority} if authority else {}
    announce_ready(COMPONENT, url=url, port=actual_port, **trust)
    logging.getLogger(COMPONENT).info("serving on %s", url)
    await stop.wait()
    logging.getLogger(COMPONENT).info("stopping")
    await front.stopping()
    await runner.cleanup()


if __name__ == "__main__":
    # The API server opens no outgoing TLS connections, yet importing aiohttp builds two client SSL
    # contexts, each loading the system CA bundle, a noticeable part of every start-up. The bundle
    # is hidden for that import only (overriding SSL_CERT_FILE/SSL_CERT_DIR, which CI images often
    # set), then restored.
    _saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    os.environ.update(dict.fromkeys(_saved, os.devnull))
    import aiohttp.web  # noqa: F401

    for _name, _value in _saved.items():
        if _value is None:
            del os.environ[_name]
        else:
            os.environ[_name] = _value
    main(sys.argv[1:])
