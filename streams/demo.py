"""``leadroute demo``: the whole pipeline on an embedded broker, end to end.

Starts a Kafka-compatible broker (and a Redis if none answers), creates the
topics, runs every stage in its own process, publishes synthetic leads, and
waits until each one is accounted for on leads.assigned or leads.dlq.
Latency is measured as a downstream consumer sees it: from the lead's
timestamp on leads.raw to the moment its assignment is readable.
"""

from __future__ import annotations

import io
import json
import logging
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import fastavro
from confluent_kafka import Consumer, Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import schemas
from processors.intake import raw_lead_from_json
from streams import embedded, topics
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from streams.synthetic import generate

log = logging.getLogger(__name__)

#: Settings that make hops fast on a laptop broker; see the README on latency.
DEMO_TUNING = {
    "fetch_wait_max_ms": 10,
    "linger_ms": 1.0,
    "session_timeout_ms": 6000,
    "commit_interval": 0.05,
    "metrics_port": 0,
}


@dataclass
class Tally:
    """What has come out of the pipeline so far."""

    expected_ids: set[str]
    expected_offsets: set[tuple[int, int]]
    assigned: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    last_at: float = 0.0

    @property
    def accounted(self) -> int:
        return len(self.assigned) + len(self.dead)

    @property
    def expected(self) -> int:
        return len(self.expected_offsets)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1], 1)


def _publish(
    settings: Settings, lead_count: int, seed: int
) -> tuple[set[str], dict[tuple[int, int], str | None], float]:
    """Publish the synthetic leads: mostly JSON, some plain Avro, a little garbage."""
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "linger.ms": 5,
            "enable.idempotence": True,
            **settings.kafka_client_config(),
        }
    )
    raw_codec = AvroCodec("RawLead")
    offsets: dict[tuple[int, int], str | None] = {}
    errors: list[str] = []
    topic = topics.name(settings, topics.RAW)

    def delivered(error: Any, message: Any, lead_id: str | None = None) -> None:
        if error is not None:
            errors.append(str(error))
        else:
            offsets[(message.partition(), message.offset())] = lead_id

    ids: set[str] = set()
    started = time.time()
    for index, message in enumerate(generate(lead_count, seed=seed)):
        if message.garbage is not None:
            value, headers = message.garbage, []
        elif index % 7 == 3 and message.payload and message.payload.get("email"):
            value = raw_codec.encode(raw_lead_from_json(message.payload))
            headers = [("content-type", b"application/avro")]
        else:
            value, headers = json.dumps(message.payload).encode(), [("content-type", b"application/json")]
        if message.lead_id:
            ids.add(message.lead_id)
        producer.produce(
            topic,
            value=value,
            key=(message.lead_id or "").encode() or None,
            headers=headers,
            on_delivery=lambda e, m, lead_id=message.lead_id: delivered(e, m, lead_id),
        )
        producer.poll(0)
    producer.flush(30)
    if errors:
        raise RuntimeError(f"{len(errors)} leads could not be published: {errors[0]}")
    return ids, offsets, started


def _warm_up(settings: Settings, consumer: Consumer, deadline: float) -> float:
    """Route one probe lead first, so the figures measure routing, not consumer start-up.

    Returns how long the pipeline took to become ready, in seconds.
    """
    started = time.monotonic()
    probe_id = f"demo-warm-up-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, **settings.kafka_client_config()})
    payload = {"lead_id": probe_id, "email": "warm-up@example.com", "source": "api"}
    producer.produce(
        topics.name(settings, topics.RAW), value=json.dumps(payload).encode(), key=probe_id.encode()
    )
    producer.flush(30)
    assigned_topic = topics.name(settings, topics.ASSIGNED)
    schema = schemas.parsed("Assignment")
    while time.monotonic() < deadline:
        for message in consumer.consume(100, timeout=0.2):
            if message.error() or message.value() is None or message.topic() != assigned_topic:
                continue
            if fastavro.schemaless_reader(io.BytesIO(message.value()), schema)["lead_id"] == probe_id:
                return time.monotonic() - started
    raise TimeoutError("the pipeline did not route the warm-up lead in time; see the stage logs")


def _consumer(settings: Settings) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"leadroute-demo-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
            "session.timeout.ms": 6000,
            **settings.kafka_client_config(),
        }
    )
    consumer.subscribe([topics.name(settings, topics.ASSIGNED), topics.name(settings, topics.DLQ)])
    return consumer


def _collect(
    consumer: Consumer, settings: Settings, tally: Tally, deadline: float, progress: Progress | None
) -> None:
    assignment_schema, dlq_schema = schemas.parsed("Assignment"), schemas.parsed("DeadLetter")
    assigned_topic = topics.name(settings, topics.ASSIGNED)
    task = progress.add_task("routing leads", total=tally.expected) if progress else None
    while tally.accounted < tally.expected and time.monotonic() < deadline:
        for message in consumer.consume(500, timeout=0.2):
            if message.error() or message.value() is None:
                continue
            now_ms = time.time() * 1000
            if message.topic() == assigned_topic:
                event = fastavro.schemaless_reader(io.BytesIO(message.value()), assignment_schema)
                if event["lead_id"] in tally.expected_ids and event["lead_id"] not in tally.assigned:
                    tally.assigned[event["lead_id"]] = event
                    tally.latencies_ms.append(now_ms - message.timestamp()[1])
            else:
                letter = fastavro.schemaless_reader(io.BytesIO(message.value()), dlq_schema)
                where = (letter["partition"], letter["offset"])
                if where in tally.expected_offsets and where not in tally.dead:
                    tally.dead[where] = letter
            tally.last_at = time.time()
        if progress is not None and task is not None:
            progress.update(task, completed=tally.accounted)


def run_demo(
    settings: Settings, *, lead_count: int, as_json: bool, seed: int, timeout: float, external_kafka: bool
) -> int:
    console = Console(stderr=True)
    broker = None if external_kafka else embedded.start_broker()
    redis_server = None
    redis_url = settings.redis_url
    if not embedded.redis_answers(redis_url):
        redis_server = embedded.start_redis()
        redis_url = redis_server.url
    run_id = uuid.uuid4().hex[:8]
    overrides: dict[str, Any] = {
        **DEMO_TUNING,
        "redis_url": redis_url,
        "redis_prefix": f"leadroute-demo-{run_id}",
    }
    if broker is not None:
        overrides["kafka_bootstrap"] = broker.bootstrap
    else:
        overrides["topic_prefix"] = f"{settings.topic_prefix}demo-{run_id}."
    settings = settings.with_overrides(**overrides)
    supervisor = Supervisor(settings, list(STAGES), quiet=not log.isEnabledFor(logging.DEBUG))
    try:
        if not as_json:
            console.print(
                f"[bold]leadroute demo[/]: broker {settings.kafka_bootstrap}"
                f"{' (embedded)' if broker else ''}, Redis {redis_url}{' (embedded)' if redis_server else ''}"
            )
        failed = [r for r in topics.create_topics(settings) if r.status == "failed"]
        if failed:
            console.print(f"[red]Could not create topics:[/] {failed}")
            return 1
        supervisor.start()
        consumer = _consumer(settings)
        deadline = time.monotonic() + timeout
        if not as_json:
            console.print("waiting for every stage to join its consumer group…")
        ready_after = _warm_up(settings, consumer, deadline)
        ids, offsets, started = _publish(settings, lead_count, seed)
        tally = Tally(expected_ids=ids, expected_offsets=set(offsets))
        if as_json:
            _collect(consumer, settings, tally, deadline, None)
        else:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                _collect(consumer, settings, tally, deadline, progress)
        consumer.close()
        summary = summarise(tally, lead_count, started)
        summary["pipeline_ready_seconds"] = round(ready_after, 2)
    finally:
        supervisor.stop()
        if broker is not None:
            broker.stop()
        if redis_server is not None:
            redis_server.stop()
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        render(summary, Console())
    return 0 if summary["unaccounted"] == 0 else 1


def summarise(tally: Tally, lead_count: int, started: float) -> dict[str, Any]:
    destinations = Counter(f"{e['destination_type']}:{e['destination']}" for e in tally.assigned.values())
    channels = Counter(e["channel"] for e in tally.assigned.values())
    reasons = Counter(letter["error_code"] for letter in tally.dead.values())
    flags = Counter(
        flag for e in tally.assigned.values() for flag in ((e["lead"]["normalized"] or {}).get("flags") or [])
    )
    elapsed = max((tally.last_at or time.time()) - started, 1e-6)
    return {
        "leads_published": lead_count,
        "assigned": len(tally.assigned),
        "dead_lettered": len(tally.dead),
        "unaccounted": tally.expected - tally.accounted,
        "by_destination": dict(destinations.most_common()),
        "by_channel": dict(channels.most_common()),
        "dlq_reasons": dict(reasons.most_common()),
        "quality_flags": dict(flags.most_common()),
        "latency_ms": {
            "p50": percentile(tally.latencies_ms, 50),
            "p95": percentile(tally.latencies_ms, 95),
            "p99": percentile(tally.latencies_ms, 99),
        },
        "leads_per_second": round(tally.accounted / elapsed, 1),
    }


def render(summary: dict[str, Any], console: Console) -> None:
    outcome = Table(title="Outcome", show_header=False)
    outcome.add_row("published", str(summary["leads_published"]))
    outcome.add_row("assigned", f"[green]{summary['assigned']}[/]")
    outcome.add_row("dead-lettered", f"[yellow]{summary['dead_lettered']}[/]")
    colour = "green" if summary["unaccounted"] == 0 else "red"
    outcome.add_row("unaccounted", f"[{colour}]{summary['unaccounted']}[/]")
    latency = summary["latency_ms"]
    outcome.add_row("latency p50 / p95 / p99", f"{latency['p50']} / {latency['p95']} / {latency['p99']} ms")
    outcome.add_row("throughput", f"{summary['leads_per_second']} leads/s")
    outcome.add_row(
        "pipeline ready after", f"{summary['pipeline_ready_seconds']} s (warm-up lead, not counted)"
    )
    console.print(outcome)
    for title, key, header in (
        ("Assigned to", "by_destination", "destination"),
        ("Channels", "by_channel", "channel"),
        ("Dead-letter reasons", "dlq_reasons", "code"),
        ("Data quality flags on assigned leads", "quality_flags", "flag"),
    ):
        if summary[key]:
            table = Table(title=title)
            table.add_column(header)
            table.add_column("leads", justify="right")
            for name, count in summary[key].items():
                table.add_row(name, str(count))
            console.print(table)
