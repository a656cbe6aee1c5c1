"""Redis servers a test starts for itself: TLS with a password, and a three-node Redis Cluster.

Never the shared Redis on 6379: each server here listens on loopback ports of
its own, keeps its files in the test's temporary directory, and is stopped by
its PID when the test ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis


def need_redis_tools() -> None:
    """Skip, saying why, where redis-server or redis-cli is missing (CI has both)."""
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed; install redis-server to run this test")


def free_port(*, with_bus: bool = False) -> int:
    """A loopback port nobody listens on (and, for a cluster node, its bus port at +10000)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not with_bus:
            return port
        if port + 10_000 < 65_536:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10_000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port pair found")


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def self_signed_certificates(directory: Path) -> Certificates:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed; it makes the test's certificates")
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=leadroute test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    )
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    )
    return Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait(check: object, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2_000:] if log.exists() else ""
    raise AssertionError(f"{what} did not come up within {timeout:.0f}s; its log ends:\n{tail}")


def _server(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / f"redis-{port}.log"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class TlsRedis:
    port: int
    password: str
    certificates: Certificates

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def tls_redis(directory: Path, password: str) -> Iterator[TlsRedis]:
    """redis-server speaking only TLS (no plain port), with ``requirepass``."""
    need_redis_tools()
    certificates = self_signed_certificates(directory / "certs")
    port = free_port()
    process = _server(
        directory,
        0,
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(certificates.cert),
        "--tls-key-file",
        str(certificates.key),
        "--tls-ca-cert-file",
        str(certificates.ca),
        "--tls-auth-clients",
        "no",
        "--requirepass",
        password,
    )
    try:
        client = redis.Redis(
            host="127.0.0.1", port=port, password=password, ssl=True, ssl_ca_certs=str(certificates.ca)
        )
        log = directory / "redis-0.log"

        def up() -> bool:
            if process.poll() is not None:
                said = log.read_text(errors="replace") if log.exists() else ""
                if "tls" in said.lower() and (
                    "bad directive" in said.lower() or "not supported" in said.lower()
                ):
                    pytest.skip("this redis-server was built without TLS support")
                raise AssertionError(f"the TLS Redis exited: {said[-1_000:]}")
            return bool(client.ping())

        _wait(up, "the TLS Redis", log)
        client.close()
        yield TlsRedis(port, password, certificates)
    finally:
        _stop(process)


@contextlib.contextmanager
def redis_cluster(directory: Path, nodes: int = 3) -> Iterator[list[int]]:
    """``nodes`` cluster-enabled redis-servers joined by ``redis-cli --cluster create``, no replicas."""
    need_redis_tools()
    ports: list[int] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(nodes):
            port = free_port(with_bus=True)
            while port in ports:
                port = free_port(with_bus=True)
            ports.append(port)
            processes.append(
                _server(
                    directory / str(port),
                    port,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "5000",
                )
            )
        for port in ports:
            node = redis.Redis(host="127.0.0.1", port=port)
            _wait(node.ping, f"cluster node {port}", directory / str(port) / f"redis-{port}.log")
            node.close()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

        def ready() -> bool:
            for port in ports:
                node = redis.Redis(host="127.0.0.1", port=port)
                try:
                    info = node.cluster("info")
                finally:
                    node.close()
                state = info.get("cluster_state") if isinstance(info, dict) else None
                if state != "ok":
                    return False
            return True

        _wait(ready, "the cluster", directory / str(ports[0]) / f"redis-{ports[0]}.log", timeout=90)
        yield ports
    finally:
        for process in processes:
            _stop(process)
