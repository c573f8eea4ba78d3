"""A real TCP forwarder that talks like `kubectl port-forward` (its "Forwarding from" line), for
testing the supervisor without a cluster: `python forwarder.py LOCAL_PORT TARGET_HOST:PORT`."""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def main(local_port: int, target: str) -> None:
    host, _, port = target.rpartition(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", local_port)
    actual = server.sockets[0].getsockname()[1]
    print(f"Forwarding from 127.0.0.1:{actual} -> {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1] or 0), sys.argv[2]))
