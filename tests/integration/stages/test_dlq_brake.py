"""The dead-letter brake end to end: a stage failing on every lead stops (exit 7), not emptying into the DLQ.

Every stage runs as its own process under the supervisor, as ``leadroute run all``
starts them, on the real broker and Redis of the suite. The fault is one a bad
deploy or a stray script leaves behind: the key the assign stage's Lua script
keeps the owners' counters in (``<prefix>:{assign}:s``, a hash) holds a string.
Redis refuses every decision with WRONGTYPE, a ``ResponseError`` that is not an
outage (:mod:`streams.outages`), so each lead is the record's problem: retried on
its own, then dead-lettered as ``processing_error``, a code that is not the
data's. normalize, enrich, match and segment pass every lead on; assign fails
every one. 20 leads trickle in first (assign dead-letters and commits them), then
280 more arrive at once. Then:

* the assign process exits with code 7 by itself, and says in its log which
  stage tripped the brake, for which code, and what to do; the supervisor
  treats that as fatal and stops the other stages;
* fewer leads than the brake's limit in a row are in leads.dlq from assign (the
  brake stopped it), and none is in leads.assigned;
* once the key is deleted and the pipeline started again, every published lead
  ends in exactly one of leads.assigned (once) or leads.dlq (those dead-lettered
  before the trip, whose offsets were committed): none lost, none twice. A
  commit interval of 0.5 s puts batches decided before the one that trips into
  the checkpoint that is not committed: had they been sent, those leads would
  now be in both.

At-least-once (the embedded broker neither keeps consumer offsets committed in a
transaction nor hides aborted records; README, "Exactly-once").
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams import topics, wiring
from streams.exits import EXIT_DLQ_BRAKE
from streams.settings import Settings
from streams.stages.registry import STAGES
from tests.integration.conftest import make_settings
from tests.support import faults
from tests.support.stage_logs import LoggedSupervisor

pytestmark = pytest.mark.integration

LEADS = 300
#: Leads that trickle in first: assign dead-letters them and commits, under the brake's limit.
FIRST = 20
#: The defaults (LEADROUTE_DLQ_BRAKE_*): 50 in a row trip it long before the window's share can.
CONSECUTIVE = 50
#: Small batches, so the checkpoint that trips holds batches decided before the one that trips.
BATCH = 10

POOL = ("priya.shah", "quinn.harper", "rosa.delgado")
#: Every lead goes to one pool of the demo team first, so every decision reads the owners' counters.
RULES = f"""\
version: 1
defaults:
  channel: sales
  fallback: [{{queue: unassigned}}]
pools:
  inbound:
    strategy: round_robin
    members: [{", ".join(POOL)}]
routes:
  - name: everyone
    assign: {{pool: inbound}}
"""


def _publish_leads(settings: Settings, run: str, numbers: range) -> set[str]:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 2})
    topic = topics.name(settings, topics.RAW)
    failed: list[str] = []
    ids = set()
    for n in numbers:
        lead_id = f"brake-{run}-{n:03d}"
        lead = {
            "lead_id": lead_id,
            "email": f"buyer{n}@plinth{n % 23}.com",
            "first_name": "Sam",
            "last_name": f"Reader{n}",
            "company": f"Plinth {n % 23} Ltd",
            "country": ("US", "UK", "Deutschland")[n % 3],
            "source": "Web Form",
        }
        producer.produce(
            topic,
            key=lead_id.encode(),
            value=json.dumps(lead).encode(),
            headers=[("content-type", b"application/json")],
            on_delivery=lambda error, _message: failed.append(str(error)) if error else None,
        )
        producer.poll(0)
        ids.add(lead_id)
    assert producer.flush(30) == 0 and not failed, f"the broker refused leads: {failed[:3]}"
    return ids


def _committed(settings: Settings, stage: str, base_topic: str) -> int:
    """How many records of ``base_topic`` the stage's consumer group has committed."""
    topic = topics.name(settings, base_topic)
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.group_prefix}-{stage}"}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in found)


def _delete_topics(settings: Settings) -> None:
    """Frees the embedded broker's memory (it keeps every topic in RAM); best effort."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    mine = [name for name in admin.list_topics(timeout=10).topics if name.startswith(settings.topic_prefix)]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            with contextlib.suppress(Exception):  # cleanup only
                future.result(30)


def _run_all(settings: Settings, log_dir: Path) -> tuple[LoggedSupervisor, threading.Thread, list[int]]:
    """Every stage under a supervisor watching them, as ``leadroute run all``; the list gets its exit code."""
    supervisor = LoggedSupervisor(settings, list(STAGES), log_dir=log_dir)
    supervisor.start()
    code: list[int] = []
    watcher = threading.Thread(target=lambda: code.append(supervisor.watch(0.2)), daemon=True)
    watcher.start()
    return supervisor, watcher, code


def test_a_stage_failing_on_every_lead_stops_with_exit_7_and_redoes_them_after_the_fix(
    infra: Any, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")
    settings = make_settings(
        infra,
        rules_file=str(rules_file),
        processing_guarantee="at-least-once",
        batch_size=BATCH,
        dlq_brake_consecutive=CONSECUTIVE,
        commit_interval=0.5,  # so the checkpoint that trips holds the batches decided before its last
    )
    assert (settings.dlq_brake_ratio, settings.dlq_brake_window) == (0.5, 200)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    outcomes = faults.Outcomes(settings)
    try:
        _trip_fix_and_drain(settings, client, outcomes, tmp_path)
    finally:
        outcomes.close()
        client.close()
        _delete_topics(settings)


def _trip_fix_and_drain(
    settings: Settings, client: redis.Redis, outcomes: faults.Outcomes, tmp_path: Path
) -> None:
    counters = f"{settings.redis_prefix}:{{assign}}:s"
    supervisor, watcher, first_code = _run_all(settings, tmp_path / "first")
    try:
        team = faults.publish_team(settings)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team", 60)
        client.set(counters, "0")  # the owners' counters hash, overwritten as a string

        began = time.monotonic()
        run = uuid.uuid4().hex[:6]
        published = _publish_leads(settings, run, range(FIRST))
        faults.wait_until(
            lambda: _committed(settings, "assign", topics.SEGMENTED) >= FIRST,
            f"assign to commit the first {FIRST} leads",
            30,
        )
        published |= _publish_leads(settings, run, range(FIRST, LEADS))
        watcher.join(60)
        if watcher.is_alive():
            outcomes.poll(1.0)
            raise AssertionError(
                f"the pipeline was still running 60 s after the leads were published, with "
                f"{sum(d['stage'] == 'assign' for d in outcomes.dead)} of {LEADS} dead-lettered by assign"
            )
        tripped_s = time.monotonic() - began
        assert first_code == [EXIT_DLQ_BRAKE], f"the supervisor ended with {first_code}, not exit 7"
    finally:
        supervisor.stop()
        watcher.join(15)
    codes = {stage: child.process.returncode for stage, child in supervisor.children.items()}
    assert codes["assign"] == EXIT_DLQ_BRAKE, (
        f"assign ended with {codes['assign']}, not 7 on its own: {codes}"
    )
    assert all(code != EXIT_DLQ_BRAKE for stage, code in codes.items() if stage != "assign"), codes

    log = supervisor.logs()["assign"]
    stopped = [line for line in log.splitlines() if "stopped (exit 7)" in line]
    assert len(stopped) == 1, f"assign's log does not say once why it stopped:\n{log[-3000:]}"
    sentence = stopped[0]
    for words in (
        "stage assign stopped (exit 7): dead-letter brake",  # which stage
        f"{CONSECUTIVE} records in a row with code processing_error",  # which code, and why
        "LEADROUTE_DLQ_BRAKE_CONSECUTIVE",
        "assign stage's dead letters on leads.dlq say what failed",  # where to look
        "fix that, then start the stage again",  # what to do
    ):
        assert words in sentence, f"{words!r} not in {sentence!r}"
    assert "Traceback" not in log, f"an expected stop printed a traceback:\n{log[-3000:]}"

    outcomes.poll(2.0)  # everything assign sent before it stopped
    dead_before = [d for d in outcomes.dead if d["stage"] == "assign"]
    assert {d["error_code"] for d in dead_before} <= {"processing_error"}, dead_before[:1]
    assert all("WRONGTYPE" in d["message"] for d in dead_before), dead_before[:1]
    dead_ids = Counter(d["lead_id"] for d in dead_before)
    assert set(dead_ids) <= published and set(dead_ids.values()) <= {1}, dead_ids
    assert {f"brake-{run}-{n:03d}" for n in range(FIRST)} <= set(dead_ids), (
        "the first leads were not dead-lettered"
    )
    assert len(dead_ids) < CONSECUTIVE, (
        f"{len(dead_ids)} of {LEADS} leads were dead-lettered by assign: the brake did not stop it at "
        f"{CONSECUTIVE} in a row"
    )
    assert not outcomes.assigned, f"{len(outcomes.assigned)} leads were assigned while every decision failed"
    assert not [d for d in outcomes.dead if d["stage"] != "assign"], "another stage dead-lettered leads"

    client.delete(counters)  # the fix; the script makes the hash again
    fixed = time.monotonic()
    supervisor, watcher, second_code = _run_all(settings, tmp_path / "second")
    try:

        def accounted() -> bool:
            outcomes.poll(0.3)
            return published <= set(outcomes.assigned) | outcomes.dead_lead_ids()

        faults.wait_until(accounted, "every lead in leads.assigned or leads.dlq after the fix", 45, step=0)
        drained_s = time.monotonic() - fixed
        outcomes.poll(1.5)  # a late second copy of anything would arrive now
        assert not second_code, f"the pipeline stopped again after the fix: {second_code}"
    finally:
        supervisor.stop()
        watcher.join(15)

    dead_after = Counter(d["lead_id"] for d in outcomes.dead)
    assert dead_after == dead_ids, "leads were dead-lettered after the fix, or one was dead-lettered twice"
    twice = {lead: len(events) for lead, events in outcomes.assigned.items() if len(events) > 1}
    assert not twice, f"{len(twice)} leads are in leads.assigned more than once: {twice}"
    both = set(outcomes.assigned) & set(dead_ids)
    assert not both, f"{len(both)} leads are in leads.assigned and in leads.dlq: {sorted(both)[:5]}"
    assert set(outcomes.assigned) | set(dead_ids) == published
    destinations = {events[0]["destination"] for events in outcomes.assigned.values()}
    assert destinations <= {*POOL, "unassigned"}, destinations
    print(
        f"\ndead-letter brake: {len(dead_ids)} of {LEADS} leads dead-lettered before the trip "
        f"({tripped_s:.1f}s after publishing), the other {len(outcomes.assigned)} assigned "
        f"{drained_s:.1f}s after the fix (all stages started again)"
    )
