"""Thousands of hostile messages through the broker and every stage process: none crashes or stalls one.

The unit suite (tests/unit/streams/stages/test_hostile_input.py) runs the stage steps in one
process; this runs the real thing: ``tests/support/hostile.py``'s messages published to
leads.raw of a pipeline of the test's own (own topics, groups and Redis prefix),
every stage in its own process under the supervisor, matching against a
synthetic CRM and routing with the example rules and team. Each message
carries a header with its index, which every stage carries on (and the DLQ
envelope keeps), so each one is followed to its end:

* every message is on leads.assigned or leads.dlq, exactly once: nothing lost;
* each ends as its kind should (routed, or dead-lettered with the expected
  code), every dead letter has a known code and a sentence, and leads whose
  custom fields were cut are flagged ``custom_truncated``;
* no stage was restarted or printed a traceback, and none stalled: the whole
  set drained within a generous bound.

The drain time and throughput are printed (run with ``-s``) and recorded as
test properties (``--junitxml``); they are figures, not assertions. Short form
2,000 messages; ``LEADROUTE_FAULTS=full`` 10,000.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

import schemas
from processors.errors import DLQ_CODES
from streams import topics, wiring
from streams.routing.router import EXAMPLE_RULES
from streams.settings import Settings
from streams.stages.registry import STAGES
from tests.integration.conftest import make_settings
from tests.support import faults
from tests.support.hostile import EXPECTED, KINDS, ROUTED, TRUNCATED_KINDS, hostile_messages
from tests.support.scale import fault_scale
from tests.support.stage_logs import LoggedSupervisor

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SEED = 20_261_207
#: A CRM for the match stage to search, so hostile company names meet real look-ups.
CRM_ACCOUNTS = 500
#: Carried through every stage on the Kafka headers, and kept in the DLQ envelope.
INDEX_HEADER = "x-hostile-index"


def publish(settings: Settings, messages: list[tuple[bytes | None, list[tuple[str, bytes]], str]]) -> int:
    """Publish every message to leads.raw as fast as the broker takes them; returns failed deliveries."""
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 5, "queue.buffering.max.kbytes": 262_144}
    )
    topic = topics.name(settings, topics.RAW)
    failed: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failed.append(str(error))

    for index, (value, headers, _kind) in enumerate(messages):
        tagged = [*headers, (INDEX_HEADER, str(index).encode())]
        while True:
            try:
                producer.produce(topic, value=value, headers=tagged, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(120)
    assert not failed, f"{len(failed)} messages were refused by the broker, e.g. {failed[:3]}"
    return remaining


class Endings:
    """Reads leads.assigned and leads.dlq (read_committed) and files each record under its index."""

    def __init__(self, settings: Settings) -> None:
        self.assigned_topic = topics.name(settings, topics.ASSIGNED)
        self.ends: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        self.unknown = 0
        self._assignment = schemas.parsed("Assignment")
        self._dead_letter = schemas.parsed("DeadLetter")
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"hostile-probe-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 6000,
            }
        )
        self._consumer.subscribe([self.assigned_topic, topics.name(settings, topics.DLQ)])

    def poll(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self._consumer.consume(500, timeout=0.1):
                if message.error() or message.value() is None:
                    continue
                if message.topic() == self.assigned_topic:
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._assignment)
                    headers = message.headers() or []
                    where = ROUTED
                else:
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._dead_letter)
                    headers = [(h["key"], h["value"]) for h in record["original_headers"]]
                    where = record["error_code"]
                index = next((int(v) for k, v in reversed(headers) if k == INDEX_HEADER), None)
                if index is None:
                    self.unknown += 1
                    continue
                self.ends.setdefault(index, []).append((where, record))

    def close(self) -> None:
        self._consumer.close()


def _delete_topics(settings: Settings) -> None:
    """Frees the embedded broker's memory (it keeps every topic in RAM); best effort."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    mine = [name for name in admin.list_topics(timeout=10).topics if name.startswith(settings.topic_prefix)]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            with contextlib.suppress(Exception):  # cleanup only
                future.result(30)


def test_hostile_messages_through_the_broker_never_crash_or_stall_a_stage(
    infra: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, record_property: Any
) -> None:
    count = fault_scale(2_000, 10_000)
    messages = hostile_messages(count, SEED)
    kinds = [kind for _, _, kind in messages]
    assert set(kinds) == set(KINDS), "every kind is in the set"
    settings = make_settings(infra, rules_file=str(EXAMPLE_RULES), firmographics="dataset")
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    supervisor = LoggedSupervisor(settings, list(STAGES), log_dir=tmp_path / "logs")
    endings = Endings(settings)
    caplog.set_level(logging.INFO, logger="streams.supervisor")
    supervisor.start()
    started_pids = dict(faults.pids(supervisor))
    watcher = threading.Thread(target=supervisor.watch, args=(0.2,), daemon=True)
    watcher.start()
    try:
        team = faults.publish_team(settings)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team", 120)
        accounts = faults.publish_crm(settings, CRM_ACCOUNTS, timeout=180)
        began = time.monotonic()
        assert publish(settings, messages) == 0, "the producer could not flush every message"
        published_s = time.monotonic() - began
        deadline = time.monotonic() + fault_scale(300, 1_200)
        while len(endings.ends) < count and time.monotonic() < deadline:
            endings.poll(0.5)
        drained_s = time.monotonic() - began
        endings.poll(1.5)  # a late second copy of anything would arrive now
        alive = {stage: child.process.poll() is None for stage, child in supervisor.children.items()}
    finally:
        supervisor.stop()
        watcher.join(15)
        endings.close()
    logs = supervisor.logs()
    _delete_topics(settings)

    by_code = Counter(where for ends in endings.ends.values() for where, _ in ends[:1])
    by_stage = Counter(
        f"{record['stage']}:{where}"
        for ends in endings.ends.values()
        for where, record in ends[:1]
        if where != ROUTED
    )
    figures = {
        "messages": count,
        "crm_accounts": accounts,
        "publish_s": round(published_s, 2),
        "drain_s": round(drained_s, 2),
        "messages_per_s": round(count / drained_s, 1),
        "routed": by_code.get(ROUTED, 0),
        "dead_lettered": dict(sorted((c, n) for c, n in by_code.items() if c != ROUTED)),
        "dead_lettered_by_stage": dict(sorted(by_stage.items())),
    }
    print(f"\nhostile input through the broker: {json.dumps(figures)}")
    for name, value in figures.items():
        record_property(f"hostile_{name}", value)

    missing = [i for i in range(count) if i not in endings.ends]
    assert not missing, (
        f"{len(missing)} of {count} messages never reached leads.assigned or leads.dlq, e.g. "
        f"{Counter(kinds[i] for i in missing).most_common(5)}: {figures}"
    )
    assert endings.unknown == 0, "records on leads.assigned or leads.dlq without the index header"
    twice = {i: [w for w, _ in ends] for i, ends in endings.ends.items() if len(ends) > 1}
    assert not twice, f"{len(twice)} messages ended twice, e.g. {list(twice.items())[:5]}"

    assert all(alive.values()), f"a stage was not running at the end: {alive}"
    assert dict(faults.pids(supervisor)) == started_pids, "a stage was restarted"
    restarts = [r.getMessage() for r in caplog.records if "restarting" in r.getMessage()]
    assert not restarts, restarts
    tracebacks = {stage: text.count("Traceback") for stage, text in logs.items() if "Traceback" in text}
    assert not tracebacks, f"stages logged tracebacks: {tracebacks}"

    wrong: Counter[tuple[str, str]] = Counter()
    for index, ends in endings.ends.items():
        where, record = ends[0]
        if where not in EXPECTED[kinds[index]]:
            wrong[(kinds[index], f"{where}: {record.get('message', '')[:100]}")] += 1
        if where != ROUTED:
            assert where in DLQ_CODES, record
            assert record["message"].strip().endswith("."), record["message"]
        elif kinds[index] in TRUNCATED_KINDS:
            assert "custom_truncated" in record["lead"]["normalized"]["flags"], index
    assert not wrong, dict(wrong)
