"""Offered load and its outcome for ``leadroute bench pipeline``: publish records, see each one out.

A record is out when its lead id is read from the chain's last topic, or when
the dead-letter topic holds it. Latency is measured from the moment the record
was handed to the producer to the moment the reading consumer has it (wall
clock, one machine), so it includes every hop, every commit and the reader's
own fetch, as a downstream service would see it. The reader keeps only the
lead id and the bytes; decoding (for the per-stage figures) waits until the
measurement is over, so it does not take CPU from the stages.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Producer

import schemas
from streams.serde import HeaderList, read_record
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class Record:
    """One message to publish: ``lead_id`` is None for one that is not a lead (garbage)."""

    lead_id: str | None
    value: bytes
    headers: HeaderList


@dataclass
class Outcome:
    """What went in and what came out of one measurement."""

    expected: int
    ids: set[str]
    sent_at: dict[str, float] = field(default_factory=dict)
    raw_offsets: set[tuple[int, int]] = field(default_factory=set)
    out: dict[str, bytes] = field(default_factory=dict)
    dead_ids: set[str] = field(default_factory=set)
    dead_offsets: set[tuple[int, int]] = field(default_factory=set)
    latencies_ms: list[float] = field(default_factory=list)
    publish_errors: list[str] = field(default_factory=list)
    published: threading.Event = field(default_factory=threading.Event)
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_out: float = 0.0

    @property
    def accounted(self) -> int:
        dead = len(self.dead_ids.difference(self.out)) + len(self.dead_offsets & self.raw_offsets)
        return len(self.out) + dead

    @property
    def complete(self) -> bool:
        return self.published.is_set() and self.accounted >= self.expected - len(self.publish_errors)

    def summary(self) -> dict[str, Any]:
        elapsed = max(self.last_out - self.first_sent, 1e-6)
        offered = max(self.last_sent - self.first_sent, 1e-6)
        return {
            "records": self.expected,
            "out": len(self.out),
            "dead_lettered": self.accounted - len(self.out),
            "unaccounted": self.expected - self.accounted,
            "seconds": round(elapsed, 2),
            "records_per_second": round(self.accounted / elapsed, 1),
            "offered_per_second": round(self.expected / offered, 1),
            "latency_ms": latency_summary(self.latencies_ms),
        }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1], 1)


def latency_summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": round(max(values), 1) if values else None,
    }


def producer(settings: Settings) -> Producer:
    config = {"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 1, "enable.idempotence": True}
    return Producer({**config, **settings.kafka_client_config()})


def consumer(settings: Settings, topics: list[str]) -> Consumer:
    """A downstream reader: read_committed, so under exactly-once it sees only committed output."""
    reader = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"leadroute-bench-reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
            "session.timeout.ms": 6000,
            **settings.kafka_client_config(),
        }
    )
    reader.subscribe(topics)
    return reader


def publish(producer: Producer, topic: str, records: list[Record], outcome: Outcome, rate: float) -> None:
    """Hand every record to the producer, paced at ``rate`` per second (0: all at once)."""

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            outcome.publish_errors.append(str(error))
        else:
            outcome.raw_offsets.add((message.partition(), message.offset()))

    outcome.first_sent = time.time()
    try:
        for index, record in enumerate(records):
            key = record.lead_id.encode() if record.lead_id else None
            if record.lead_id:
                outcome.sent_at[record.lead_id] = time.time()
            while True:
                try:
                    producer.produce(
                        topic, value=record.value, key=key, headers=record.headers, on_delivery=delivered
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            producer.poll(0)
            if rate > 0 and (pause := outcome.first_sent + (index + 1) / rate - time.time()) > 0:
                time.sleep(pause)
        outcome.last_sent = time.time()
        producer.flush(60)
    finally:
        outcome.published.set()


def collect(
    reader: Consumer,
    out_topic: str,
    dlq_topic: str,
    source_topic: str,
    outcome: Outcome,
    deadline: float,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Read until every record is accounted for or ``deadline`` (monotonic) passes."""
    dlq_schema = schemas.parsed("DeadLetter")
    while not outcome.complete and time.monotonic() < deadline:
        for message in reader.consume(1000, timeout=0.05):
            if message.error() or message.value() is None:
                continue
            now = time.time()
            topic = message.topic()
            if topic == out_topic:
                key = message.key()
                lead_id = key.decode() if key else None
                if lead_id in outcome.ids and lead_id not in outcome.out:
                    outcome.out[lead_id] = message.value()
                    outcome.latencies_ms.append((now - outcome.sent_at[lead_id]) * 1000)
                    outcome.last_out = now
            elif topic == dlq_topic:
                letter = read_record(io.BytesIO(message.value()), dlq_schema)
                if letter["topic"] == source_topic:
                    outcome.dead_offsets.add((letter["partition"], letter["offset"]))
                elif letter["lead_id"] in outcome.ids:
                    outcome.dead_ids.add(letter["lead_id"])
                outcome.last_out = now
        if on_progress is not None:
            on_progress(outcome.accounted)


def run_load(
    settings: Settings,
    records: list[Record],
    *,
    source_topic: str,
    out_topic: str,
    dlq_topic: str,
    rate: float,
    timeout: float,
    reader: Consumer,
    writer: Producer,
    on_progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Publish ``records`` (in a thread) while reading their outcomes; returns when all are out."""
    outcome = Outcome(expected=len(records), ids={r.lead_id for r in records if r.lead_id})
    publisher = threading.Thread(
        target=publish, args=(writer, source_topic, records, outcome, rate), daemon=True
    )
    publisher.start()
    collect(reader, out_topic, dlq_topic, source_topic, outcome, time.monotonic() + timeout, on_progress)
    publisher.join(5)
    return outcome


def stage_rates(
    values: list[bytes], schema_name: str, lead_of: Callable[[Any], Any], stages: list[str]
) -> dict[str, dict[str, float]]:
    """Per stage: leads it stamped and leads/s between its first and last stamp (read from traces)."""
    schema = schemas.parsed(schema_name)
    stamps: dict[str, list[int]] = {stage: [] for stage in stages}
    for value in values:
        lead = lead_of(read_record(io.BytesIO(value), schema))
        for entry in lead["trace"]:
            if entry["stage"] in stamps:
                stamps[entry["stage"]].append(entry["at_ms"])
    rates: dict[str, dict[str, float]] = {}
    for stage, times in stamps.items():
        span = (max(times) - min(times)) / 1000 if len(times) > 1 else 0.0
        rates[stage] = {
            "leads": len(times),
            "leads_per_second": round(len(times) / span, 1) if span > 0 else 0.0,
        }
    return rates
