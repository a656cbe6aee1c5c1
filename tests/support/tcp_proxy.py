"""A TCP proxy the fault suite can cut and restore, to make a broker unreachable on its own address.

The embedded broker keeps topics in memory, so stopping it would lose them. With
the broker advertising the proxy's address, every client connection (bootstrap
and per-broker alike) runs through the proxy: :meth:`TcpProxy.cut` closes them
all and refuses new ones, as a broker that went down does; :meth:`TcpProxy.restore`
listens again on the same port, as the broker coming back on the same address.

:meth:`TcpProxy.stall` is the other kind of outage, a network partition: connections
stay open and new ones are accepted, but no byte moves either way until
:meth:`restore`, when what was held is delivered (as TCP's retransmission would).

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
        self._flowing: asyncio.Event | None = None

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

    def stall(self) -> None:
        """Hold every byte in both directions (connections stay open) until :meth:`restore`."""
        self._call(self._set_flowing(False))

    def cut(self) -> None:
        """Close every connection and stop listening: connects are refused until :meth:`restore`."""
        self._call(self._cut())

    def restore(self, timeout: float = 10.0) -> None:
        """After a cut, listen on the same port again (retrying while the old socket lingers); after a
        stall, let the bytes move again."""
        self._call(self._set_flowing(True))
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

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None, "start the proxy first"
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _listen(self) -> None:
        if self._flowing is None:  # made on the loop's thread, where it is awaited
            self._flowing = asyncio.Event()
            self._flowing.set()
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

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
