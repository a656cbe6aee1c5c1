"""``leadroute simulate``: what a draft rule set would change, before it goes live.

Leads come from a file of raw leads, from an export of past assignment events,
or from a time range of the ``leads.assigned`` topic. Each lead is routed
through the draft rules and compared with either another rule set (``--against``)
or, for past events, what actually happened. Routing uses the owners file and a
fresh in-memory ledger per side, so a simulation never touches live counters.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors.assign import assign_many
from processors.errors import InvalidLead
from processors.intake import raw_lead_from_json
from processors.models import Assignment, Lead
from processors.owners.memory import StaticOwners
from processors.owners.models import Owner
from processors.pipeline import Router, enrich_stage, normalize_stage, route_leads
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet


class SettableClock:
    """A clock a replay sets to each past lead's decision time."""

    def __init__(self, now_ms: int) -> None:
        self.at_ms = now_ms

    def now_ms(self) -> int:
        return self.at_ms


@dataclass(frozen=True, slots=True)
class Outcome:
    lead_id: str
    destination: str  # "owner:<id>" or "queue:<name>"
    channel: str
    route: str | None


@dataclass(slots=True)
class Diff:
    """Before/after of one simulation, ready for tables or JSON."""

    before_label: str
    after_label: str
    leads: int = 0
    owner_changed: int = 0
    channel_changed: int = 0
    route_changed: int = 0
    before_destinations: Counter[str] = field(default_factory=Counter)
    after_destinations: Counter[str] = field(default_factory=Counter)
    before_channels: Counter[str] = field(default_factory=Counter)
    after_channels: Counter[str] = field(default_factory=Counter)
    before_routes: Counter[str] = field(default_factory=Counter)
    after_routes: Counter[str] = field(default_factory=Counter)
    silent_routes: list[str] = field(default_factory=list)  # draft routes no lead matched
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self, sample: int) -> dict[str, Any]:
        return {
            "before": self.before_label,
            "after": self.after_label,
            "leads": self.leads,
            "owner_changed": self.owner_changed,
            "channel_changed": self.channel_changed,
            "route_changed": self.route_changed,
            "destinations": _side_by_side(self.before_destinations, self.after_destinations, self.leads),
            "channels": _side_by_side(self.before_channels, self.after_channels, self.leads),
            "routes": _side_by_side(self.before_routes, self.after_routes, self.leads),
            "routes_matching_nothing": self.silent_routes,
            "changes": self.changes[:sample],
        }


def _side_by_side(before: Counter[str], after: Counter[str], total: int) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(set(before) | set(after), key=lambda n: (-max(before[n], after[n]), n)):
        rows.append(
            {
                "name": name,
                "before": before[name],
                "after": after[name],
                "delta": after[name] - before[name],
                "share_before": round(before[name] / total, 4) if total else 0.0,
                "share_after": round(after[name] / total, 4) if total else 0.0,
            }
        )
    return rows


def outcome_of(assignment: Assignment) -> Outcome:
    return Outcome(
        assignment["lead_id"],
        f"{assignment['destination_type']}:{assignment['destination']}",
        assignment["channel"],
        assignment.get("route"),
    )


def compare(
    before: Sequence[Outcome],
    after: Sequence[Outcome],
    *,
    before_label: str,
    after_label: str,
    draft: RuleSet,
) -> Diff:
    diff = Diff(before_label, after_label)
    for old, new in zip(before, after, strict=True):
        diff.leads += 1
        diff.before_destinations[old.destination] += 1
        diff.after_destinations[new.destination] += 1
        diff.before_channels[old.channel] += 1
        diff.after_channels[new.channel] += 1
        diff.before_routes[old.route or "(no route)"] += 1
        diff.after_routes[new.route or "(no route)"] += 1
        owner_changed = old.destination != new.destination
        channel_changed = old.channel != new.channel
        route_changed = old.route != new.route
        diff.owner_changed += owner_changed
        diff.channel_changed += channel_changed
        diff.route_changed += route_changed
        if owner_changed or channel_changed:
            diff.changes.append(
                {
                    "lead_id": new.lead_id,
                    "before": {"destination": old.destination, "channel": old.channel, "route": old.route},
                    "after": {"destination": new.destination, "channel": new.channel, "route": new.route},
                }
            )
    diff.silent_routes = [name for name in route_names(draft) if diff.after_routes[name] == 0]
    return diff


def route_names(rules: RuleSet) -> list[str]:
    return [route.name for route in rules.leaf_routes()]


# --- where the leads come from ------------------------------------------------------------------


def read_raw_leads(path: Path, router: Router) -> tuple[list[Lead], list[dict[str, Any]]]:
    """Raw leads (JSONL or CSV) normalized and enriched once, shared by both sides."""
    from streams.routing.batch import read_documents

    leads: list[Lead] = []
    rejected: list[dict[str, Any]] = []
    now = router.clock.now_ms()
    for number, document in read_documents(path):
        try:
            if isinstance(document, InvalidLead):
                raise document
            raw = raw_lead_from_json(document)
            lead = normalize_stage(
                raw, received_at_ms=now, clock=router.clock, max_custom_bytes=router.max_custom_bytes
            )
            leads.append(enrich_stage(lead, enricher=router.enricher, clock=router.clock))
        except InvalidLead as error:
            rejected.append({"line": number, "code": error.code, "reason": error.message})
    return leads, rejected


def read_assignment_events(path: Path) -> Iterator[Assignment]:
    """An export of leads.assigned events, one JSON object per line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(event, dict) or "lead" not in event or "destination" not in event:
                raise ValueError(
                    f"{path}:{number}: not an assignment event (needs 'lead' and 'destination'); "
                    "export events from leads.assigned, or pass raw leads with --input"
                )
            yield event  # type: ignore[misc]


# --- routing each side ---------------------------------------------------------------------------


def route_fresh(leads: Sequence[Lead], rules: RuleSet, router: Router) -> list[Outcome]:
    """Leads already normalized and enriched, routed through ``rules`` with a fresh ledger."""
    from dataclasses import replace

    side = replace(router, rules=rules, ledger=InMemoryLedger())
    return [outcome_of(a) for a in route_leads(leads, router=side)]


def replay(
    events: Sequence[Assignment],
    rules: RuleSet,
    owners: Sequence[Owner],
    last_resort_queue: str,
    duplicate_window_s: int = 0,
) -> list[Outcome]:
    """Past decisions re-decided by ``rules``, each at the moment it was first decided.

    With ``duplicate_window_s`` the replay finds repeats among the replayed leads
    as the live router would, so a draft that routes duplicates apart is tested.
    """
    ledger, directory = InMemoryLedger(), StaticOwners(owners)
    clock = SettableClock(0)
    outcomes = []
    for event in events:
        clock.at_ms = event["decided_at_ms"]
        lead: Lead = {**event["lead"], "trace": [t for t in event["lead"]["trace"] if t["stage"] != "assign"]}
        [decided] = assign_many(
            [lead],
            rules=rules,
            owners=directory,
            ledger=ledger,
            clock=clock,
            last_resort_queue=last_resort_queue,
            duplicate_window_s=duplicate_window_s,
        )
        outcomes.append(outcome_of(decided))
    return outcomes


def read_assigned_topic(settings: Any, since_ms: int, until_ms: int | None, limit: int) -> list[Assignment]:
    """Assignment events from leads.assigned written between two instants."""
    from confluent_kafka import Consumer, TopicPartition

    from streams import topics
    from streams.serde import AvroCodec

    codec = AvroCodec("Assignment")
    topic = topics.name(settings, topics.ASSIGNED)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "leadroute-simulate",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            **settings.consumer_config(),
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        if not partitions:
            raise ValueError(f"topic {topic} does not exist; run the pipeline or 'leadroute topics create'")
        starts = consumer.offsets_for_times(
            [TopicPartition(topic, p, since_ms) for p in partitions], timeout=10
        )
        live = [tp for tp in starts if tp.offset >= 0]
        if not live:
            return []
        consumer.assign(live)
        events: list[Assignment] = []
        done: set[int] = set()
        while len(done) < len(live) and len(events) < limit:
            for message in consumer.consume(500, timeout=1.0):
                if message.error():
                    if message.error().code() == -191:  # _PARTITION_EOF
                        done.add(message.partition())
                    continue
                if until_ms is not None and message.timestamp()[1] > until_ms:
                    done.add(message.partition())
                    continue
                if message.value() is not None:
                    events.append(codec.decode(message.value()))
        return events[:limit]
    finally:
        consumer.close()
