"""Fixtures that run the real stages against a real broker and a real Redis."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastavro
import pytest
import redis
from confluent_kafka import Consumer, Producer

import schemas
from streams import topics
from streams.adapters.redis_cleanup import forget_prefix
from streams.settings import Settings
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from tests.support.services import Services, services

pytestmark = pytest.mark.integration


_PREFIXES_USED: list[str] = []


@pytest.fixture(scope="session")
def infra() -> Iterator[Services]:
    with services() as found:
        client = redis.Redis.from_url(found.redis_url)
        if not client.ping():
            pytest.fail(f"Redis at {found.redis_url} does not answer")
        yield found
        for prefix in _PREFIXES_USED:
            forget_prefix(client, prefix)


@pytest.fixture
def redis_url(infra: Services) -> str:
    """The Redis the suite uses (see tests/support/services.py for how it is chosen)."""
    return infra.redis_url


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A connection to that Redis, for tests of the Redis adapters."""
    connection = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {redis_url} does not answer: {error}")
    yield connection
    connection.close()


def make_settings(infra: Services, **overrides: Any) -> Settings:
    """Settings isolated by a unique topic, group and Redis prefix."""
    run = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "redis_url": infra.redis_url,
        "topic_prefix": f"t{run}.",
        "group_prefix": f"leadroute-test-{run}",
        "redis_prefix": f"leadroute-test-{run}",
        "fetch_wait_max_ms": 10,
        "linger_ms": 1.0,
        "session_timeout_ms": 6000,
        "commit_interval": 0.05,
        "partitions": 2,
        "metrics_port": 0,
    }
    values.update(overrides)
    _PREFIXES_USED.append(values["redis_prefix"])
    return Settings.from_env({}, **values)


@dataclass
class Outcomes:
    """Everything read from leads.assigned and leads.dlq, kept for assertions."""

    assigned: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    dead: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)


class PipelineProbe:
    """Publishes to leads.raw and reads what comes out, like an upstream and a downstream."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 1})
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"probe-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 6000,
            }
        )
        self.consumer.subscribe([self.topic(topics.ASSIGNED), self.topic(topics.DLQ)])
        self.outcomes = Outcomes()
        self._assignment = schemas.parsed("Assignment")
        self._dead_letter = schemas.parsed("DeadLetter")

    def topic(self, base: str) -> str:
        return topics.name(self.settings, base)

    def publish(
        self, value: bytes | None, *, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> tuple[int, int]:
        """Publish to leads.raw; returns (partition, offset)."""
        where: list[tuple[int, int]] = []
        self.producer.produce(
            self.topic(topics.RAW),
            value=value,
            key=key,
            headers=headers or [],
            on_delivery=lambda err, msg: (
                where.append((msg.partition(), msg.offset())) if err is None else None
            ),
        )
        self.producer.flush(10)
        assert where, "the broker did not acknowledge the message"
        return where[0]

    def poll(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self.consumer.consume(200, timeout=0.1):
                if message.error() or message.value() is None:
                    continue
                if message.topic() == self.topic(topics.ASSIGNED):
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._assignment)
                    self.outcomes.assigned.append((message, record))
                else:
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._dead_letter)
                    self.outcomes.dead.append((message, record))

    def assigned_for(self, lead_id: str) -> list[dict[str, Any]]:
        return [record for _, record in self.outcomes.assigned if record["lead_id"] == lead_id]

    def dead_at(self, partition: int, offset: int) -> list[dict[str, Any]]:
        return [r for _, r in self.outcomes.dead if (r["partition"], r["offset"]) == (partition, offset)]

    def wait_for(self, condition: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll(0.3)
            if condition():
                return
        raise AssertionError(
            f"timed out after {timeout:.0f}s; seen {len(self.outcomes.assigned)} assigned, "
            f"{len(self.outcomes.dead)} dead-lettered"
        )

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture(scope="session")
def pipeline_settings(infra: Services) -> Settings:
    """The shared pipeline routes with the example rules (and so has its channel topics)."""
    from streams.routing.router import EXAMPLE_RULES

    settings = make_settings(infra, firmographics="dataset", rules_file=str(EXAMPLE_RULES))
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    return settings


@pytest.fixture(scope="session")
def running_pipeline(pipeline_settings: Settings) -> Iterator[Supervisor]:
    """Every stage as its own process (what 'leadroute run all' starts), shared by tests."""
    supervisor = Supervisor(pipeline_settings, list(STAGES))
    supervisor.start()
    yield supervisor
    supervisor.stop()


@pytest.fixture
def probe(pipeline_settings: Settings, running_pipeline: Supervisor) -> Iterator[PipelineProbe]:
    probe = PipelineProbe(pipeline_settings)
    yield probe
    probe.close()
