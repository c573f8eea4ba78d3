"""`python -m harness.reference.webhook`: the provisioning webhook endpoint of the embedded stack.

Like the EDA rulebook's event stream (contract §9.4), it accepts `POST /create-compute-instance`
and `POST /delete-compute-instance` with a JSON body (the ComputeInstance) and answers 202; any
other path is 404 and any other method 405. It records what it received in its log. The
reference operator provisions by itself, so nothing waits on these posts; they exist so that the
operator's webhook settings can be checked the way a real installation's are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from typing import NoReturn

from aiohttp import web

from harness.reference.runtime import (
    announce_ready,
    fail,
    install_stop_handler,
    start_component,
)

COMPONENT = "webhook"
PATHS = ("/create-compute-instance", "/delete-compute-instance")
log = logging.getLogger(COMPONENT)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(COMPONENT, message)
        raise SystemExit(2)  # pragma: no cover


async def handle(request: web.Request) -> web.Response:
    if request.path not in PATHS:
        return web.json_response({"error": f"no endpoint {request.path}"}, status=404)
    if request.method != "POST":
        return web.json_response({"error": "only POST"}, status=405, headers={"Allow": "POST"})
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        return web.json_response({"error": "the body is not JSON"}, status=400)
    name = (body or {}).get("metadata", {}).get("name") if isinstance(body, dict) else None
    log.info("POST %s for %s", request.path, name or "an unnamed object")
    return web.json_response({"accepted": True}, status=202)


async def serve(host: str, port: int, listen_fd: int | None = None) -> None:
    server = web.Server(handle, access_log=None)
    runner = web.ServerRunner(server)
    await runner.setup()
    site: web.BaseSite
    if listen_fd is not None:
        # A socket the stack bound and listens on already; its URL is known before we start.
        site = web.SockSite(runner, socket.socket(fileno=listen_fd))
    else:
        site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        fail(COMPONENT, f"cannot listen on {host}:{port}: {error.strerror or error}")
        return
    bound_host, actual = runner.addresses[0][:2]
    url = f"http://{bound_host}:{actual}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    install_stop_handler(lambda: loop.call_soon_threadsafe(stop.set))
    announce_ready(COMPONENT, url=url, port=actual)
    log.info("serving on %s", url)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(prog="python -m harness.reference.webhook", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--listen-fd", type=int, help="serve on this inherited listening socket")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    start_component(COMPONENT, args.verbose)
    asyncio.run(serve(args.host, args.port, args.listen_fd))
