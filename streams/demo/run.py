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
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from confluent_kafka import Consumer, Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import schemas
from processors.intake import raw_lead_from_json
from streams import topics, wiring
from streams.demo import embedded
from streams.demo.synthetic import SyntheticMessage, generate
from streams.redis_client import redis_answers
from streams.routing.router import EXAMPLE_RULES
from streams.serde import AvroCodec, read_record
from streams.settings import Settings
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor

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
    """What went in and what has come out so far; the publisher thread fills ``offsets``."""

    lead_ids: set[str]
    offsets: set[tuple[int, int]] = field(default_factory=set)
    published: threading.Event = field(default_factory=threading.Event)
    assigned: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    started_at: float = 0.0
    last_at: float = 0.0

    @property
    def accounted(self) -> int:
        return len(self.assigned) + sum(1 for where in self.dead if where in self.offsets)

    @property
    def complete(self) -> bool:
        return self.published.is_set() and self.accounted >= len(self.offsets)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1], 1)


def _encode(
    messages: list[SyntheticMessage],
) -> list[tuple[bytes, list[tuple[str, bytes]], SyntheticMessage]]:
    """Mostly JSON, every seventh valid lead as plain Avro, garbage as it is."""
    raw_codec = AvroCodec("RawLead")
    encoded: list[tuple[bytes, list[tuple[str, bytes]], SyntheticMessage]] = []
    for index, message in enumerate(messages):
        if message.garbage is not None:
            encoded.append((message.garbage, [], message))
        elif index % 7 == 3 and message.payload and message.payload.get("email"):
            value = raw_codec.encode(raw_lead_from_json(message.payload))
            encoded.append((value, [("content-type", b"application/avro")], message))
        else:
            value = json.dumps(message.payload).encode()
            encoded.append((value, [("content-type", b"application/json")], message))
    return encoded


def _producer(settings: Settings) -> Producer:
    config = {"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 1, "enable.idempotence": True}
    return Producer({**config, **settings.kafka_client_config()})


def _publish(
    settings: Settings, producer: Producer, messages: list[SyntheticMessage], tally: Tally, rate: float
) -> None:
    """Publish to leads.raw, recording where each message landed.

    ``producer`` is already connected (it sent the warm-up lead), so no lead's
    timestamp includes the client's own start-up. With ``rate`` > 0 leads are
    paced at that many per second, so latency shows routing time rather than
    time spent queued behind a burst.
    """
    errors: list[str] = []
    topic = topics.name(settings, topics.RAW)

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            errors.append(str(error))
        else:
            tally.offsets.add((message.partition(), message.offset()))

    encoded = _encode(messages)
    tally.started_at = time.time()
    try:
        for index, (value, headers, message) in enumerate(encoded):
            key = message.lead_id.encode() if message.lead_id else None
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=delivered)
            producer.poll(0)
            if rate > 0 and (pause := tally.started_at + (index + 1) / rate - time.time()) > 0:
                time.sleep(pause)
        producer.flush(30)
    finally:
        tally.published.set()
    if errors:
        log.error("%d leads could not be published: %s", len(errors), errors[0])


def _load_crm(settings: Settings, accounts: int, seed: int, deadline: float, console: Console | None) -> int:
    """Publish a synthetic CRM (the demo leads' companies first) and wait until crm-sync holds it."""
    if accounts <= 0:
        return 0
    from streams.crm.load import CrmPublisher
    from streams.crm.synthetic import generate_crm

    publisher = CrmPublisher(settings)
    # The example team owns the accounts, and 60% of the demo's companies are customers,
    # so the demo shows account-owner routing next to new logos going to the pools.
    team = tuple(owner.id for owner in demo_team(int(time.time() * 1000)))
    records = list(
        generate_crm(accounts, seed=seed, demo_seed=seed, owners=team, demo_share=DEMO_CUSTOMER_SHARE)
    )
    for kind, record in records:
        publisher.publish(kind, record)
    publisher.flush()
    wanted = sum(1 for kind, _ in records if kind == "account")
    if console is not None:
        console.print(f"published a synthetic CRM of {wanted} accounts; waiting for crm-sync to mirror it…")
    mirror = wiring.crm_mirror(settings)
    while time.monotonic() < deadline:
        if mirror.sizes().get("account", 0) >= wanted:
            return wanted
        time.sleep(0.25)
    raise TimeoutError("crm-sync did not mirror the synthetic CRM in time")


#: Share of the demo leads' companies that are already CRM accounts; the rest are new logos.
DEMO_CUSTOMER_SHARE = 0.6
#: The example team member the demo sends on leave, so skips show up in the summary.
DEMO_AWAY_OWNER = "hugo.martin"


def demo_team(now_ms: int) -> list[Any]:
    """The demo owners, with one of the EMEA enterprise pool out of office around today."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from streams.routing.router import DEMO_OWNERS, read_owners

    today = datetime.fromtimestamp(now_ms / 1000, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    leave = ((today - timedelta(days=2), today + timedelta(days=5)),)
    return [
        replace(owner, out_of_office=leave) if owner.id == DEMO_AWAY_OWNER else owner
        for owner in read_owners(DEMO_OWNERS)
    ]


def _load_owners(settings: Settings, deadline: float, console: Console | None) -> int:
    """Publish the demo team to the owners topic and wait until owner-sync holds it in Redis."""
    from streams.cli.owners import OwnerPublisher

    team = demo_team(int(time.time() * 1000))
    publisher = OwnerPublisher(settings)
    for owner in team:
        publisher.publish(owner)
    if publisher.flush():
        raise RuntimeError("the broker did not acknowledge every owner")
    if console is not None:
        console.print(
            f"published {len(team)} owners ({DEMO_AWAY_OWNER} out of office); waiting for owner-sync…"
        )
    directory = wiring.owner_directory(settings)
    while time.monotonic() < deadline:
        if directory.count() >= len(team):
            return len(team)
        time.sleep(0.25)
    raise TimeoutError("owner-sync did not store the demo owners in time")


def _warm_up(settings: Settings, producer: Producer, consumer: Consumer, deadline: float) -> float:
    """Route one probe lead first, so the figures measure routing, not consumer start-up.

    Returns how long the pipeline took to become ready, in seconds.
    """
    started = time.monotonic()
    probe_id = f"demo-warm-up-{uuid.uuid4().hex[:8]}"
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
            if read_record(io.BytesIO(message.value()), schema)["lead_id"] == probe_id:
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
    task = progress.add_task("routing leads", total=len(tally.lead_ids)) if progress else None
    while not tally.complete and time.monotonic() < deadline:
        for message in consumer.consume(500, timeout=0.1):
            if message.error() or message.value() is None:
                continue
            now_ms = time.time() * 1000
            if message.topic() == assigned_topic:
                event = read_record(io.BytesIO(message.value()), assignment_schema)
                if event["lead_id"] in tally.lead_ids and event["lead_id"] not in tally.assigned:
                    tally.assigned[event["lead_id"]] = event
                    tally.latencies_ms.append(now_ms - message.timestamp()[1])
                    tally.delivery_ms.append(now_ms - event["decided_at_ms"])
            else:
                letter = read_record(io.BytesIO(message.value()), dlq_schema)
                tally.dead.setdefault((letter["partition"], letter["offset"]), letter)
            tally.last_at = time.time()
        if progress is not None and task is not None:
            progress.update(task, completed=tally.accounted, total=max(len(tally.offsets), 1))


def run_demo(
    settings: Settings,
    *,
    crm_accounts: int = 2000,
    lead_count: int,
    as_json: bool,
    seed: int,
    timeout: float,
    external_kafka: bool,
    rate: float = 0.0,
) -> int:
    """The ``leadroute demo`` command: run, then print tables or one JSON object."""
    console = None if as_json else Console(stderr=True)
    summary = measure_pipeline(
        settings,
        lead_count=lead_count,
        seed=seed,
        timeout=timeout,
        external_kafka=external_kafka,
        rate=rate,
        console=console,
        crm_accounts=crm_accounts,
    )
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        render(summary, Console())
    return 0 if summary["unaccounted"] == 0 else 1


def measure_pipeline(
    settings: Settings,
    *,
    lead_count: int,
    seed: int,
    timeout: float,
    external_kafka: bool = False,
    rate: float = 0.0,
    tuning: dict[str, Any] | None = None,
    console: Console | None = None,
    crm_accounts: int = 0,
) -> dict[str, Any]:
    """Start everything, publish synthetic leads, wait for each outcome, stop, summarise."""
    broker = None if external_kafka else embedded.start_broker()
    redis_server = None
    if not redis_answers(settings):
        redis_server = embedded.start_redis()
        # The embedded server is plain Redis on loopback: no TLS, password or cluster.
        settings = replace(
            settings,
            redis_url=redis_server.url,
            redis_password=None,
            redis_ssl_ca_certs=None,
            redis_ssl_certfile=None,
            redis_ssl_keyfile=None,
            redis_cluster=False,
        )
    run_id = uuid.uuid4().hex[:8]
    overrides: dict[str, Any] = {
        **DEMO_TUNING,
        # The demo shows enrichment with the shipped sample dataset unless a provider is configured.
        "firmographics": "dataset" if settings.firmographics == "none" else settings.firmographics,
        # ...and routes with the example rules unless the user has their own.
        "rules_file": settings.rules_file or str(EXAMPLE_RULES),
        **(tuning or {}),
        "redis_prefix": f"leadroute-demo-{run_id}",
        "group_prefix": f"leadroute-demo-{run_id}",
    }
    if broker is not None:
        overrides["kafka_bootstrap"] = broker.bootstrap
    else:
        overrides["topic_prefix"] = f"{settings.topic_prefix}demo-{run_id}."
    settings = settings.with_overrides(**overrides)
    supervisor = Supervisor(settings, list(STAGES), quiet=not log.isEnabledFor(logging.DEBUG))
    try:
        if console is not None:
            console.print(
                f"[bold]leadroute demo[/]: broker {settings.kafka_bootstrap}"
                f"{' (embedded)' if broker else ''}, Redis {settings.redis_location()}"
                f"{' (embedded)' if redis_server else ''}, {settings.processing_guarantee}"
            )
        failed = [r for r in topics.create_topics(settings) if r.status == "failed"]
        if failed:
            raise RuntimeError(f"could not create topics: {failed}")
        supervisor.start()
        consumer = _consumer(settings)
        deadline = time.monotonic() + timeout
        if console is not None:
            console.print("waiting for every stage to join its consumer group…")
        producer = _producer(settings)
        owners_loaded = _load_owners(settings, deadline, console)
        crm_loaded = _load_crm(settings, crm_accounts, seed, deadline, console)
        ready_after = _warm_up(settings, producer, consumer, deadline)
        messages = list(generate(lead_count, seed=seed))
        tally = Tally(lead_ids={m.lead_id for m in messages if m.lead_id})
        publisher = threading.Thread(
            target=_publish, args=(settings, producer, messages, tally, rate), daemon=True
        )
        publisher.start()
        if console is None:
            _collect(consumer, settings, tally, deadline, None)
        else:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as progress:
                _collect(consumer, settings, tally, deadline, progress)
        consumer.close()
        publisher.join(5)
    finally:
        supervisor.stop()
        if broker is not None:
            broker.stop()
        if redis_server is not None:
            redis_server.stop()
        else:
            from streams.adapters.redis_cleanup import forget_prefix

            forget_prefix(wiring.redis_for(settings, timeout_s=None), settings.redis_prefix)
    summary = summarise(tally, lead_count)
    summary["pipeline_ready_seconds"] = round(ready_after, 2)
    summary["crm_accounts"] = crm_loaded
    summary["owners"] = owners_loaded
    summary["rules"] = settings.rules_file
    summary["publish_rate"] = rate or "burst"
    summary["processing_guarantee"] = settings.processing_guarantee
    summary["commit_interval_s"] = settings.commit_interval
    return summary


def _source_of(section: dict[str, Any], name: str) -> str:
    provenance = (section.get("provenance") or {}).get(name)
    return provenance["source"] if provenance else "-"


def summarise(tally: Tally, lead_count: int) -> dict[str, Any]:
    destinations = Counter(f"{e['destination_type']}:{e['destination']}" for e in tally.assigned.values())
    routes = Counter(e.get("route") or "(no route: defaults)" for e in tally.assigned.values())
    skips = Counter(
        f"{skip['owner_id']}: {skip['reason'].split(' until ')[0]}"
        for e in tally.assigned.values()
        for skip in e.get("skips") or []
    )
    fallbacks = Counter(
        f"placed by fallback {e['fallback_depth']}: {e['action']}"
        for e in tally.assigned.values()
        if e.get("fallback_depth")
    )
    channels = Counter(e["channel"] for e in tally.assigned.values())
    dead = [letter for where, letter in tally.dead.items() if where in tally.offsets]
    reasons = Counter(letter["error_code"] for letter in dead)
    flags = Counter(
        flag for e in tally.assigned.values() for flag in ((e["lead"]["normalized"] or {}).get("flags") or [])
    )
    sections = [e["lead"]["enrichment"] or {} for e in tally.assigned.values()]
    regions = Counter(
        f"{section.get('region') or 'unknown'} ({_source_of(section, 'region')})" for section in sections
    )
    seniority = Counter(section.get("seniority") or "unknown" for section in sections)
    firmographics = Counter(section.get("firmographics_status") or "off" for section in sections)
    crm_sections = [e["lead"].get("crm") or {} for e in tally.assigned.values()]
    crm = Counter(
        f"account by {(section.get('account') or {}).get('method')}"
        if section.get("account")
        else "no account"
        for section in crm_sections
    )
    crm.update(
        label
        for section in crm_sections
        for label, present in (
            ("duplicate of a CRM person", section.get("is_duplicate")),
            ("open opportunity", section.get("has_open_opportunity")),
            ("flagged for review", section.get("review")),
        )
        if present
    )
    elapsed = max((tally.last_at or time.time()) - tally.started_at, 1e-6)
    hops: dict[str, list[float]] = {}
    for event in tally.assigned.values():
        previous = event["lead"]["received_at_ms"]
        for entry in event["lead"]["trace"]:
            hops.setdefault(entry["stage"], []).append(entry["at_ms"] - previous)
            previous = entry["at_ms"]
    return {
        "leads_published": lead_count,
        "assigned": len(tally.assigned),
        "dead_lettered": len(dead),
        "unaccounted": lead_count - tally.accounted,
        "by_destination": dict(destinations.most_common()),
        "by_channel": dict(channels.most_common()),
        "by_route": dict(routes.most_common()),
        "owner_skips": dict(skips.most_common()),
        "fallbacks": dict(fallbacks.most_common()),
        "dlq_reasons": dict(reasons.most_common()),
        "quality_flags": dict(flags.most_common()),
        "by_region": dict(regions.most_common()),
        "by_seniority": dict(seniority.most_common()),
        "firmographics": dict(firmographics.most_common()),
        "crm": dict(crm.most_common()),
        "latency_ms": {
            "p50": percentile(tally.latencies_ms, 50),
            "p95": percentile(tally.latencies_ms, 95),
            "p99": percentile(tally.latencies_ms, 99),
        },
        "leads_per_second": round(tally.accounted / elapsed, 1),
        "hop_latency_ms_p50": {stage: percentile(values, 50) for stage, values in hops.items()},
        "hop_latency_ms_p95": {stage: percentile(values, 95) for stage, values in hops.items()},
        "decision_to_consumer_ms_p50": percentile(tally.delivery_ms, 50),
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
        ("Assigned to (owners and queues)", "by_destination", "destination"),
        ("Channels (leads.assigned.<channel>)", "by_channel", "channel"),
        ("Routes that matched", "by_route", "route"),
        ("Owners skipped, and why", "owner_skips", "owner: reason"),
        ("Placed by a fallback action", "fallbacks", "fallback"),
        ("Dead-letter reasons", "dlq_reasons", "code"),
        ("Data quality flags on assigned leads", "quality_flags", "flag"),
        ("Regions (and the source that placed them)", "by_region", "region"),
        ("Seniority from job titles", "by_seniority", "seniority"),
        ("Firmographics look-ups", "firmographics", "outcome"),
        ("CRM matching", "crm", "outcome"),
    ):
        if summary[key]:
            table = Table(title=title)
            table.add_column(header)
            table.add_column("leads", justify="right")
            for name, count in summary[key].items():
                table.add_row(name, str(count))
            console.print(table)
