"""The fault suite's TCP proxy: forwards, cuts every connection, refuses while cut, comes back on its port."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.support.tcp_proxy import TcpProxy


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = TcpProxy(server.server_address).start()  # type: ignore[arg-type]
    yield proxy
    proxy.stop()
    server.shutdown()
    server.server_close()


def _echo(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def test_cut_closes_connections_refuses_new_ones_and_restore_reopens_the_same_port(proxy: TcpProxy) -> None:
    port = proxy.port
    assert _echo(port, b"before") == b"before"
    open_connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    open_connection.sendall(b"x")
    assert open_connection.recv(1) == b"x"

    proxy.cut()
    with pytest.raises((ConnectionError, OSError)):
        open_connection.sendall(b"y")
        if not open_connection.recv(1):
            raise ConnectionResetError("closed")
    open_connection.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)

    proxy.restore()
    assert proxy.port == port
    assert _echo(port, b"after") == b"after"


def test_a_stall_holds_bytes_on_open_connections_and_restore_delivers_them(proxy: TcpProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"a")
        assert sock.recv(1) == b"a"
        proxy.stall()
        sock.sendall(b"held")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(4)
        proxy.restore()
        sock.settimeout(5)
        assert sock.recv(4) == b"held"
