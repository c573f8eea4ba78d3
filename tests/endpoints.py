"""Loopback endpoints a test points a setting at: a port nothing listens on, and an HTTP server
that answers every request with one status (a wrong webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from aiohttp import web


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def answering(status: int) -> Iterator[str]:
    """The base URL of a loopback HTTP endpoint that answers every request with `status`."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def handle(_request: web.BaseRequest) -> web.Response:
        return web.Response(status=status, text="nope")

    async def serve() -> None:
        runner = web.ServerRunner(web.Server(handle))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["port"] = runner.addresses[0][1]
        holder["stop"] = asyncio.Event()
        ready.set()
        await holder["stop"].wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the loopback endpoint did not start"
    try:
        yield f"http://127.0.0.1:{holder['port']}"
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()
