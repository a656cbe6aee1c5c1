"""Which Kafka-protocol broker and Redis the tests talk to.

In order: LEADROUTE_KAFKA_BOOTSTRAP / LEADROUTE_REDIS_URL when set; Apache Kafka
and Redis containers when a Docker engine answers; else the embedded broker and
the Redis on 127.0.0.1:6379. Never a mock of either.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from streams.demo import embedded

LOCAL_REDIS = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    redis_url: str
    kind: str


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, no socket, no permission: all mean "no"
        return False


@contextlib.contextmanager
def services() -> Iterator[Services]:
    kafka = os.environ.get("LEADROUTE_KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("LEADROUTE_REDIS_URL")
    with contextlib.ExitStack() as stack:
        kind = "configured"
        if not kafka or not redis_url:
            if _docker_answers():
                from testcontainers.kafka import KafkaContainer
                from testcontainers.redis import RedisContainer

                kind = "testcontainers"
                if not kafka:
                    container = stack.enter_context(KafkaContainer("apache/kafka:3.9.0").with_kraft())
                    kafka = container.get_bootstrap_server()
                if not redis_url:
                    redis_container = stack.enter_context(RedisContainer("redis:7"))
                    host = redis_container.get_container_host_ip()
                    redis_url = f"redis://{host}:{redis_container.get_exposed_port(6379)}/0"
            else:
                kind = "embedded broker + local Redis"
                if not kafka:
                    broker = stack.enter_context(embedded.embedded_broker())
                    kafka = broker.bootstrap
                redis_url = redis_url or LOCAL_REDIS
        yield Services(kafka_bootstrap=kafka, redis_url=redis_url, kind=kind)
