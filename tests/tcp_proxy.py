"""A TCP proxy the fault suite can cut and restore, to make a broker unreachable on its own address.

The embedded broker keeps topics in memory, so stopping it would lose them. With
the broker advertising the proxy's address, every client connection (bootstrap
and per-broker alike) runs through the proxy: :meth:`TcpProxy.cut` closes them
all and refuses new ones, as a broker that went down does; :meth:`TcpProxy.restore`
listens again on the same port, as the broker coming back on the same address.

One asyncio loop on a daemon thread; the public methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any


class TcpProxy:
    """Forwards ``listen_host:port`` to ``target`` until cut; ``port`` 0 picks a free one."""

    def __init__(self, target: tuple[str, int], *, listen_host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self.listen_host = listen_host
        self.port = port
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._server is None

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Close every connection and stop listening: connects are refused until :meth:`restore`."""
        self._call(self._cut())

    def restore(self, timeout: float = 10.0) -> None:
        """Listen on the same port again (retrying while the old socket lingers)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call(self._listen())
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._handle, self.listen_host, self.port, reuse_address=True, family=socket.AF_INET
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, not a graceful close: the peer is gone
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._server is None:
            client_writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.accepted += 1
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer), self._pump(upstream_reader, client_writer)
            )
        finally:
            for writer in pair:
                writer.transport.abort()
            self._writers -= pair

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
