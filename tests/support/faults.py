"""Pieces the fault suite shares: a running pipeline of its own, a paced publisher, the ledger's counts.

Each fault test runs its own pipeline (own topics, groups and Redis prefix) so a
killed or stalled stage never disturbs the shared one other tests use.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastavro
import redis
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import schemas
from processors.errors import DATA_CODES
from streams import topics
from streams.demo.run import _encode, demo_team
from streams.demo.synthetic import generate
from streams.settings import Settings

#: Dead-letter codes that are the data's fault; anything else under a fault is an infrastructure loss.


def broker_hides_aborted_records(bootstrap: str) -> bool:
    """Whether read_committed consumers skip aborted transactions, as Apache Kafka does.

    The embedded broker does not: it delivers an aborted transaction's records.
    Exactly-once between topics needs the broker's part, so the suite asks the
    broker instead of assuming.
    """
    name = f"abort-probe-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": name})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce(name, value=b"aborted")
    producer.flush(10)
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce(name, value=b"committed")
    producer.commit_transaction(10)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": name, "isolation.level": "read_committed"}
    )
    consumer.assign([TopicPartition(name, 0, 0)])
    seen: list[bytes] = []
    deadline = time.monotonic() + 10
    while b"committed" not in seen and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            seen.append(message.value())
    consumer.close()
    admin.delete_topics([name])
    return b"aborted" not in seen


def publish_team(settings: Settings) -> int:
    from streams.cli.owners import OwnerPublisher

    team = demo_team(int(time.time() * 1000))
    publisher = OwnerPublisher(settings)
    for owner in team:
        publisher.publish(owner)
    assert publisher.flush() == 0, "the broker did not acknowledge every owner"
    return len(team)


def wait_until(condition: Any, what: str, timeout: float = 60.0, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Published:
    """What the upstream sent: lead ids and where each message landed on leads.raw."""

    lead_ids: set[str] = field(default_factory=set)
    positions: dict[tuple[int, int], str | None] = field(default_factory=dict)
    failed: int = 0


class PacedPublisher:
    """Publishes synthetic leads to leads.raw at a steady rate on a thread, as a web form backend would."""

    def __init__(self, settings: Settings, count: int, rate: float, *, seed: int = 11) -> None:
        self.settings = settings
        self.rate = rate
        self.messages = _encode(list(generate(count, seed=seed)))
        self.published = Published()
        self._producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 2})
        self._thread = threading.Thread(target=self._run, name="paced-publisher", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> PacedPublisher:
        self._thread.start()
        return self

    def _delivered(self, lead_id: str | None) -> Any:
        def callback(error: Any, message: Any) -> None:
            with self._lock:
                if error is not None:
                    self.published.failed += 1
                    return
                self.published.positions[(message.partition(), message.offset())] = lead_id
                if lead_id is not None:
                    self.published.lead_ids.add(lead_id)

        return callback

    def _run(self) -> None:
        topic = topics.name(self.settings, topics.RAW)
        started = time.monotonic()
        for index, (value, headers, message) in enumerate(self.messages):
            due = started + index / self.rate
            while (wait := due - time.monotonic()) > 0:
                self._producer.poll(min(wait, 0.05))
            key = message.lead_id.encode() if message.lead_id else None
            self._producer.produce(
                topic, value=value, key=key, headers=headers, on_delivery=self._delivered(message.lead_id)
            )
            self._producer.poll(0)
        self._producer.flush(30)

    def join(self, timeout: float = 120.0) -> Published:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the publisher did not finish"
        return self.published


class Outcomes:
    """Reads leads.assigned and leads.dlq (read_committed) from the start, like a downstream service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.assigned: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.dead: list[dict[str, Any]] = []
        self._assignment = schemas.parsed("Assignment")
        self._dead_letter = schemas.parsed("DeadLetter")
        self._assigned_topic = topics.name(settings, topics.ASSIGNED)
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"fault-probe-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 6000,
            }
        )
        self._consumer.subscribe([self._assigned_topic, topics.name(settings, topics.DLQ)])

    def poll(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self._consumer.consume(500, timeout=0.1):
                if message.error() or message.value() is None:
                    continue
                if message.topic() == self._assigned_topic:
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._assignment)
                    self.assigned[record["lead_id"]].append(record)
                else:
                    self.dead.append(
                        fastavro.schemaless_reader(io.BytesIO(message.value()), self._dead_letter)
                    )

    def raw_dead_positions(self) -> set[tuple[int, int]]:
        raw = topics.name(self.settings, topics.RAW)
        return {(d["partition"], d["offset"]) for d in self.dead if d["topic"] == raw}

    def dead_lead_ids(self) -> set[str]:
        return {d["lead_id"] for d in self.dead if d["lead_id"]}

    def unaccounted(self, published: Published) -> list[tuple[tuple[int, int], str | None]]:
        """Published messages that are neither assigned nor dead-lettered (yet)."""
        dead_positions, dead_ids = self.raw_dead_positions(), self.dead_lead_ids()
        return [
            (position, lead_id)
            for position, lead_id in published.positions.items()
            if position not in dead_positions
            and not (lead_id and (lead_id in self.assigned or lead_id in dead_ids))
        ]

    def wait_for_all(self, published: Published, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll(0.5)
            if not self.unaccounted(published):
                return
        missing = self.unaccounted(published)
        traced = where_leads_are(self.settings, [lead_id for _, lead_id in missing[:5] if lead_id])
        raise AssertionError(
            f"{len(missing)} of {len(published.positions)} published messages never reached leads.assigned "
            f"or leads.dlq within {timeout:.0f}s, e.g. {missing[:5]}; where those leads are "
            f"(topic: [(partition, offset)], aborted records included): {traced}"
        )

    def close(self) -> None:
        self._consumer.close()


def where_leads_are(
    settings: Settings, lead_ids: list[str], timeout: float = 30.0
) -> dict[str, dict[str, list[Any]]]:
    """Each lead's records in each pipeline topic, by key, so a lost lead shows the hop it died at.

    A dead letter also shows its stage, code, lead id and the input record it names.
    """
    wanted = {lead_id.encode(): lead_id for lead_id in lead_ids}
    found: dict[str, dict[str, list[Any]]] = {lead_id: {} for lead_id in lead_ids}
    if not wanted:
        return found
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"fault-trace-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
        }
    )
    try:
        for base in topics.PIPELINE_TOPICS:
            topic = topics.name(settings, base)
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in metadata.partitions
            }
            consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
            open_partitions = {p for p, end in ends.items() if end > 0}
            deadline = time.monotonic() + timeout
            while open_partitions and time.monotonic() < deadline:
                for message in consumer.consume(500, timeout=0.5):
                    if message.error():
                        continue
                    lead_id = wanted.get(message.key() or b"")
                    if lead_id is not None:
                        where: Any = (message.partition(), message.offset())
                        if base == topics.DLQ and message.value():
                            where = (*where, _dead_letter_summary(message.value()))
                        found[lead_id].setdefault(base, []).append(where)
                    if message.offset() + 1 >= ends[message.partition()]:
                        open_partitions.discard(message.partition())
            consumer.unassign()
    finally:
        consumer.close()
    return found


def _dead_letter_summary(value: bytes) -> dict[str, Any]:
    """What a traced dead letter says: which stage, why, and the input record it names."""
    try:
        record = fastavro.schemaless_reader(io.BytesIO(value), schemas.parsed("DeadLetter"))
    except Exception as error:  # noqa: BLE001 - a trace must not fail on a record it cannot read
        return {"unreadable": str(error)}
    keep = ("stage", "error_code", "lead_id", "topic", "partition", "offset", "message")
    return {name: record.get(name) for name in keep}


def ledger_owner_counts(settings: Settings) -> dict[str, int]:
    """Assignments this week per owner as the Redis ledger counts them (see redis_ledger's layout)."""
    client = redis.Redis.from_url(settings.redis_url)
    stored = client.hgetall(f"{settings.redis_prefix}:{{assign}}:s")
    counts = {}
    for owner, value in stored.items():
        parts = value.decode().split("|")
        counts[owner.decode()] = int(parts[6] or 0)
    return counts


def ledger_decisions(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    return sum(1 for _ in client.scan_iter(match=f"{settings.redis_prefix}:{{assign}}:d:*", count=1000))


def pids(supervisor: Any) -> Iterator[tuple[str, int]]:
    for stage, child in supervisor.children.items():
        yield stage, child.process.pid


def summary(outcomes: Outcomes) -> str:
    codes: dict[str, int] = defaultdict(int)
    for record in outcomes.dead:
        codes[f"{record['stage']}:{record['error_code']}"] += 1
    duplicates = sum(len(events) - 1 for events in outcomes.assigned.values())
    return json.dumps({"assigned": len(outcomes.assigned), "duplicates": duplicates, "dead": dict(codes)})


class OwnRedis:
    """A Redis server of the test's own on a free loopback port, with no persistence.

    Stopping and starting it again is a Redis restart that loses everything, as
    a Redis without persistence does in production; the shared Redis on 6379 is
    never touched.
    """

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_until(lambda: _answers(client), f"the test's Redis on port {self.port}", 20)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def publish_crm(settings: Settings, accounts: int, seed: int = 7, timeout: float = 120.0) -> int:
    """Publish a synthetic CRM (as the demo does) and wait until crm-sync mirrors it; returns accounts.

    With a CRM the match stage does its real work (name look-ups, typo variants)
    instead of answering from an empty mirror.
    """
    from streams.demo.run import _load_crm

    return _load_crm(settings, accounts, seed, time.monotonic() + timeout, None)


def free_port_block(count: int, host: str = "127.0.0.1", attempts: int = 200) -> int:
    """A base port with base+1 … base+count free: stages serve health on base + their index."""
    import random
    import socket

    for _ in range(attempts):
        base = random.randint(20_000, 30_000 - count - 1)
        sockets: list[socket.socket] = []
        try:
            for port in range(base + 1, base + count + 1):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


#: What :func:`healthz` reports when the probe's own timeout ran out: slow, not unready.
PROBE_TIMED_OUT = 0


def healthz(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> tuple[int | None, dict[str, Any]]:
    """A stage's /healthz as (status, body): None when nothing listens (the process is gone),
    :data:`PROBE_TIMED_OUT` when the answer took longer than ``timeout`` (a loaded machine)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return PROBE_TIMED_OUT, {}
        return None, {}
    except TimeoutError:
        return PROBE_TIMED_OUT, {}
    except (OSError, ValueError):
        return None, {}


@dataclass
class HealthSample:
    at: float
    stage: str
    status: int | None
    body: dict[str, Any]

    @property
    def unready(self) -> bool:
        """503, or nobody listening; a probe that timed out says nothing either way."""
        return self.status is None or self.status == 503


class HealthWatch:
    """Polls every stage's /healthz, one thread per stage, as an orchestrator's readiness probe would."""

    def __init__(
        self, ports: dict[str, int], interval: float = 0.3, settings: Settings | None = None
    ) -> None:
        self.ports = ports
        self.interval = interval
        self.settings = settings  # to describe the groups of stages that stay unready
        self.samples: list[HealthSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(stage, port), name=f"health-{stage}", daemon=True)
            for stage, port in ports.items()
        ]

    def start(self) -> HealthWatch:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, stage: str, port: int) -> None:
        while not self._stop.wait(self.interval):
            status, body = healthz(port)
            with self._lock:
                self.samples.append(HealthSample(time.monotonic(), stage, status, body))

    def _samples(self) -> list[HealthSample]:
        with self._lock:
            return list(self.samples)

    def latest(self, stage: str) -> HealthSample | None:
        return next((s for s in reversed(self._samples()) if s.stage == stage), None)

    def all_ready(self) -> bool:
        return all((s := self.latest(stage)) is not None and s.status == 200 for stage in self.ports)

    def wait_all_ready(self, what: str, timeout: float) -> None:
        """Until every stage answers 200; on a timeout, says which did not and why."""
        try:
            wait_until(self.all_ready, what, timeout)
        except AssertionError as error:
            unready = {
                stage: (sample.status, sample.body.get("reasons")) if sample else None
                for stage in self.ports
                if (sample := self.latest(stage)) is None or sample.status != 200
            }
            groups = (
                {stage: describe_group(self.settings, stage) for stage in unready} if self.settings else {}
            )
            raise AssertionError(
                f"{error}; still unready: {unready}; their groups as the broker sees them: {groups}"
            ) from None

    def first_unready(self, stage: str, since: float, until: float) -> HealthSample | None:
        return next(
            (s for s in self._samples() if s.stage == stage and since <= s.at <= until and s.unready), None
        )

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def describe_group(settings: Settings, stage: str, timeout: float = 10.0) -> dict[str, Any] | str:
    """The stage's consumer group as the broker's coordinator sees it: state and members."""
    group = f"{settings.group_prefix}-{stage}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    try:
        described = admin.describe_consumer_groups([group], request_timeout=timeout)[group].result(timeout)
    except (KafkaException, KeyError) as error:  # a diagnostic: report, never mask the failure
        return f"could not describe {group}: {error}"
    return {
        "state": str(described.state),
        "members": [
            {
                "id": m.member_id,
                "instance": m.group_instance_id,
                "host": m.host,
                "partitions": len(m.assignment.topic_partitions) if m.assignment else 0,
            }
            for m in described.members
        ],
    }


def tracebacks(log_dir: str) -> dict[str, list[str]]:
    """Per stage log file, the exception lines that end each Python traceback in it."""
    import pathlib

    found: dict[str, list[str]] = {}
    for path in sorted(pathlib.Path(log_dir).glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        ends = []
        for index, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                after = lines[index + 1 :]
                tail = next((line for line in after if line and not line[0].isspace()), "?")
                ends.append(tail)
        if ends:
            found[path.stem] = ends
    return found


def check_accounting(outcomes: Outcomes, settings: Settings, *, guarantee: str, hides_aborted: bool) -> str:
    """The fault suite's promises once every published message is accounted for; returns the summary.

    Nothing dead-lettered for a reason that is not the data's; no lead with two
    destinations; a second event for a lead only as a replay of the first
    decision (and none at all under exactly-once on a broker that hides aborted
    transactions); the ledger counted each assigned lead once.
    """
    from collections import Counter

    report = summary(outcomes)
    codes = {record["error_code"] for record in outcomes.dead}
    assert codes <= DATA_CODES, f"dead-lettered for a reason that is not the data's: {report}"
    for lead_id, events in outcomes.assigned.items():
        destinations = {(e["destination_type"], e["destination"]) for e in events}
        assert len(destinations) == 1, f"{lead_id} went to {destinations}"
        assert all(e["replayed"] for e in events[1:]), f"{lead_id}: a second fresh decision: {events}"
    if guarantee == "exactly-once" and hides_aborted:
        twice = [lead for lead, events in outcomes.assigned.items() if len(events) > 1]
        assert twice == [], f"exactly-once delivered {len(twice)} leads twice: {report}"
    to_owner = Counter(
        events[0]["destination"]
        for events in outcomes.assigned.values()
        if events[0]["destination_type"] == "owner"
    )
    counted = {owner: n for owner, n in ledger_owner_counts(settings).items() if n}
    assert counted == dict(to_owner), f"the ledger's counts moved other than once per lead: {report}"
    assert ledger_decisions(settings) == len(outcomes.assigned), report
    return report


def wait_for_assigned(outcomes: Outcomes, count: int, timeout: float) -> None:
    """Until at least ``count`` leads are on leads.assigned: the pipeline is flowing."""
    deadline = time.monotonic() + timeout
    while len(outcomes.assigned) < count:
        assert time.monotonic() < deadline, f"only {len(outcomes.assigned)} of {count} leads assigned"
        outcomes.poll(0.3)


class RereadProofOutcomes(Outcomes):
    """Outcomes for a probe that itself loses the broker: each record counts once per position.

    A probe cut off with the stages loses its group membership and, having
    committed nothing, reads its topics again from the start when it rejoins.
    Those re-reads are the probe's, not duplicates the pipeline wrote: a record
    seen again at the same (topic, partition, offset) is ignored, while a
    duplicate the pipeline wrote sits at another offset and still counts.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.rereads = 0
        self._seen: set[tuple[str, int, int]] = set()

    def poll(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self._consumer.consume(500, timeout=0.1):
                if message.error() or message.value() is None:
                    continue
                position = (message.topic(), message.partition(), message.offset())
                if position in self._seen:
                    self.rereads += 1
                    continue
                self._seen.add(position)
                if message.topic() == self._assigned_topic:
                    record = fastavro.schemaless_reader(io.BytesIO(message.value()), self._assignment)
                    self.assigned[record["lead_id"]].append(record)
                else:
                    self.dead.append(
                        fastavro.schemaless_reader(io.BytesIO(message.value()), self._dead_letter)
                    )


class IdempotentPublisher(PacedPublisher):
    """A paced upstream whose retries never write a lead twice (enable.idempotence).

    A plain producer that loses the broker mid-request retries it, and the
    broker may have written the first copy: a duplicate that is the upstream's,
    not the pipeline's. Tests that cut the broker off use this one.
    """

    def __init__(self, settings: Settings, count: int, rate: float, *, seed: int = 11) -> None:
        super().__init__(settings, count, rate, seed=seed)
        self._producer = Producer(
            {"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 2, "enable.idempotence": True}
        )


def supervisor_restarts(records: list[Any]) -> list[tuple[str, str]]:
    """(stage, reason) for each restart the supervisor logged; 'broker unreachable' is exit 4."""
    import re

    pattern = re.compile(r"stage (?P<stage>\S+) stopped \((?P<reason>[^)]*)\); restarting")
    return [
        (found["stage"], found["reason"])
        for record in records
        if record.name == "streams.supervisor" and (found := pattern.match(record.getMessage()))
    ]
