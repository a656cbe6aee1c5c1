"""assign: leads.segmented → leads.assigned and leads.assigned.<channel> (Assignment events).

Decides a whole batch with one pipelined Redis round trip (the assignment
ledger's Lua script), with the owners owner-sync keeps in Redis and the rule
set :class:`~streams.routing.rules_source.RulesSource` reloads when its file changes.
Redis being down stops the stage so the batch is retried.

The stage decodes each lead whole and writes each event around the lead's own
bytes (:mod:`streams.routing.writer`): the lead is most of an event, and encoding
it again cost more than deciding. Measured 2026-12-07 with ``leadroute bench
assign --leads 20000 --compare-plain 3`` (medians of 3 interleaved rounds, two
shared cores, three runs): the stage with the writer 4,193-4,941 leads/s, with a
whole fastavro encode of the event 3,001-3,163 (1.36-1.56x). Decoding only the fields
the rules read bought 1.09-1.13x more and was removed for its reader schemas.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import fastavro

from processors.assign import assign_many, expected_shares
from processors.errors import InvalidLead
from processors.lead import stamped
from processors.models import Assignment, Lead
from processors.ports import Clock, OwnerDirectory, SystemClock
from processors.routing.ledger import AssignmentLedger, AssignRequest, AssignResult
from processors.routing.recount import Recount
from streams import metrics, topics, wiring
from streams.recovery.rebuild import StateGate, StatePlan, StateRebuild
from streams.routing.rules_source import RulesSource, default_rules
from streams.routing.writer import AssignmentWriter
from streams.serde import AvroCodec, LeadDecoder
from streams.settings import Settings
from streams.stages.base import BatchStep, Message

NAME = "assign"
INPUT = topics.SEGMENTED
OUTPUT = topics.ASSIGNED

_SKIP_KINDS = (
    ("out of office", "out_of_office"),
    ("outside working hours", "off_hours"),
    ("cap", "cap"),
    ("skill", "skill"),
    ("unknown owner", "unknown"),
    ("away", "away"),
    ("offline", "offline"),
)


def skip_kind(reason: str) -> str:
    """A small, fixed label set for the skip metric (reasons themselves carry dates)."""
    text = reason.lower()
    return next((kind for needle, kind in _SKIP_KINDS if needle in text), "other")


def record_metrics(assignment: Assignment) -> None:
    child = metrics.child
    channel = assignment["channel"]
    child(metrics.ASSIGNMENTS, assignment["destination_type"], assignment["destination"], channel).inc()
    if assignment["replayed"]:
        return
    child(metrics.ROUTE_MATCHES, assignment["route"] or "(none)", channel).inc()
    for skip in assignment["skips"]:
        child(metrics.OWNER_SKIPS, skip["owner_id"], skip_kind(skip["reason"])).inc()
    if assignment["fallback_depth"]:
        child(metrics.FALLBACKS, str(assignment["fallback_depth"])).inc()
    latency_ms = assignment["decided_at_ms"] - assignment["lead"]["received_at_ms"]
    child(metrics.LEAD_LATENCY_SECONDS, channel).observe(max(latency_ms, 0) / 1000)


def record_fairness(request: AssignRequest, result: AssignResult) -> None:
    """Expected share versus placements per owner and pool, so dashboards show who is behind."""
    shares = expected_shares(request, result)
    if not shares:
        return
    pool = request.attempts[result.attempt].name  # type: ignore[index]
    for owner_id, share in shares.items():
        metrics.child(metrics.OWNER_EXPECTED_SHARE, owner_id, pool).inc(share)
    if result.owner_id is not None:
        metrics.child(metrics.OWNER_PLACEMENTS, result.owner_id, pool).inc()


def rules_source_for(settings: Settings, *, check_topics: bool = True) -> RulesSource:
    """The stage's rules: the configured file (reloaded on change) or the default queue."""

    def missing_channel_topics(channels: Iterable[str]) -> list[str]:
        wanted = [topics.name(settings, topics.channel_topic(channel)) for channel in channels]
        return topics.missing_topics(settings, wanted)

    return RulesSource(
        settings.rules_file,
        fallback=default_rules(settings.default_queue, settings.default_channel),
        check_every_s=settings.rules_reload_seconds,
        missing_channel_topics=missing_channel_topics if check_topics else None,
    )


def owners_gate(settings: Settings, *, own: bool = False) -> StateGate:
    """Waits for the owner directory; with ``own``, also stops when the ledger itself was lost."""

    return StateGate(
        NAME,
        [wiring.state_marker(settings, "owners")],
        settings.state_wait_limit(),
        owned=[wiring.state_marker(settings, "assign")] if own else (),
    )


def state_plan(settings: Settings) -> StatePlan:
    """Remembered decisions and owners' counts are this stage's to rebuild; owners it waits for.

    The gate runs first, so the owners are back when the counts are recounted in
    their own time zones.
    """

    ledger = wiring.assignment_ledger(settings)
    directory = wiring.owner_directory(settings)
    codec = AvroCodec("Assignment")
    clock = SystemClock()
    recount: list[Recount] = []

    def start() -> None:
        recount[:] = [Recount(directory.fresh(), clock.now_ms())]

    def apply(batch: list[Message]) -> None:
        events = []
        for message in batch:
            try:
                events.append(codec.decode(message.value))  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - not ours to judge here; a foreign record is skipped
                continue
        ledger.remember(events, clock.now_ms())
        for event in events:
            recount[0].add(event)

    def finish() -> None:
        ledger.restore_counts(recount[0].counts)

    def since_ms() -> int:
        return clock.now_ms() - int(settings.ledger_rebuild_hours * 3_600_000)

    return StatePlan(
        rebuilds=[
            StateRebuild(
                NAME,
                wiring.state_marker(settings, "assign"),
                settings,
                [topics.name(settings, topics.ASSIGNED)],
                apply,
                since_ms=since_ms,
                before=start,
                after=finish,
            )
        ],
        gate=owners_gate(settings),
    )


@dataclass(slots=True)
class ReadLead:
    """A lead as the stage read it, and its bytes for the event."""

    lead: dict[str, Any]
    value: bytes
    stamp: dict[str, Any] | None = None  # the trace entry this stage adds, once decided


def build_step(
    settings: Settings,
    clock: Clock,
    *,
    ledger: AssignmentLedger | None = None,
    owners: OwnerDirectory | None = None,
    rules: RulesSource | None = None,
    state_gate: StateGate | None = None,
) -> BatchStep:
    """The stage's step; with the Redis owner directory it holds batches while owners are rebuilt."""
    if ledger is None:
        ledger = wiring.assignment_ledger(settings)
    default_owners = owners is None
    if owners is None:
        owners = wiring.owner_directory(settings)
    source = rules or rules_source_for(settings)
    ready_ledger, ready_owners = ledger, owners
    gate = (
        state_gate
        if state_gate is not None
        else (owners_gate(settings, own=True) if default_owners else None)
    )
    reader = LeadDecoder()
    writer = AssignmentWriter()

    def decode(message: Message) -> ReadLead:
        data = reader.readable(message.value, message.headers)
        stream = io.BytesIO(data)
        try:
            lead = fastavro.schemaless_reader(stream, reader.codec.schema)
        except Exception as error:  # noqa: BLE001 - any decode failure is the record's
            raise InvalidLead(
                "undecodable", f"The record is not a valid Lead in Avro ({type(error).__name__})."
            ) from None
        if stream.tell() != len(data):  # the event copies these bytes: they must be one Lead
            raise InvalidLead(
                "undecodable",
                f"The record has {len(data) - stream.tell()} bytes after the Lead; "
                "it is not one Lead in Avro.",
            )
        return ReadLead(lead, data)  # type: ignore[arg-type]  # decoded with the Lead schema

    def assign_batch(items: list[ReadLead]) -> list[Assignment]:
        if gate is not None:
            gate.wait_ready()  # never route to fallbacks because Redis came back without its owners
        current = source.current()
        now = clock.now_ms()
        leads: list[Lead] = []
        for item in items:
            lead = stamped(item.lead, NAME, now)  # type: ignore[arg-type]
            if lead is not item.lead:
                item.stamp = lead["trace"][-1]  # type: ignore[assignment]
            leads.append(lead)
        return assign_many(
            leads,
            rules=current,
            owners=ready_owners,
            ledger=ready_ledger,
            clock=clock,
            last_resort_queue=settings.default_queue,
            on_decided=record_fairness,
            duplicate_window_s=settings.duplicate_window_days * 86_400,
        )

    def encode(item: ReadLead, assignment: Assignment) -> bytes:
        return writer.encode(assignment, item.value, item.stamp)

    def channel_topic_of(assignment: Assignment) -> tuple[str, ...]:
        return (topics.name(settings, topics.channel_topic(assignment["channel"])),)

    return BatchStep(
        NAME,
        decode,
        lambda item: item.lead["lead_id"],
        assign_batch,
        AvroCodec("Assignment"),
        clock,
        record_metrics,
        channel_topic_of,
        encode,
    )
