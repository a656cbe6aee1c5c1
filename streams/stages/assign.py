"""assign: leads.segmented → leads.assigned and leads.assigned.<channel> (Assignment events).

Decides a whole batch with one pipelined Redis round trip (the assignment
ledger's Lua script, once per lead), with the owners owner-sync keeps in Redis
and the rule set :class:`~streams.rules_source.RulesSource` reloads when its
file changes. Redis being down stops the stage so the batch is retried.
"""

from __future__ import annotations

from collections.abc import Iterable

from processors.assign import OwnerDirectory, assign_many, expected_shares
from processors.lead import stamped
from processors.models import Assignment, Lead
from processors.ports import Clock
from processors.routing.ledger import AssignmentLedger, AssignRequest, AssignResult
from streams import metrics, topics
from streams.rules_source import RulesSource, default_rules
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages.base import BatchStep, lead_batch_step

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
    metrics.ASSIGNMENTS.labels(
        assignment["destination_type"], assignment["destination"], assignment["channel"]
    ).inc()
    if assignment["replayed"]:
        return
    metrics.ROUTE_MATCHES.labels(assignment["route"] or "(none)", assignment["channel"]).inc()
    for skip in assignment["skips"]:
        metrics.OWNER_SKIPS.labels(skip["owner_id"], skip_kind(skip["reason"])).inc()
    if assignment["fallback_depth"]:
        metrics.FALLBACKS.labels(str(assignment["fallback_depth"])).inc()
    latency_ms = assignment["decided_at_ms"] - assignment["lead"]["received_at_ms"]
    metrics.LEAD_LATENCY_SECONDS.labels(assignment["channel"]).observe(max(latency_ms, 0) / 1000)


def record_fairness(request: AssignRequest, result: AssignResult) -> None:
    """Expected share versus placements per owner and pool, so dashboards show who is behind."""
    shares = expected_shares(request, result)
    if not shares:
        return
    pool = request.attempts[result.attempt].name  # type: ignore[index]
    for owner_id, share in shares.items():
        metrics.OWNER_EXPECTED_SHARE.labels(owner_id, pool).inc(share)
    if result.owner_id is not None:
        metrics.OWNER_PLACEMENTS.labels(result.owner_id, pool).inc()


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


def build_step(
    settings: Settings,
    clock: Clock,
    *,
    ledger: AssignmentLedger | None = None,
    owners: OwnerDirectory | None = None,
    rules: RulesSource | None = None,
) -> BatchStep:
    if ledger is None:
        from streams.adapters.redis_ledger import RedisAssignmentLedger

        ledger = RedisAssignmentLedger.from_settings(settings)
    if owners is None:
        from streams.adapters.redis_owners import RedisOwnerDirectory

        owners = RedisOwnerDirectory.from_settings(settings)
    source = rules or rules_source_for(settings)
    ready_ledger, ready_owners = ledger, owners

    def assign_batch(leads: list[Lead]) -> list[Assignment]:
        now = clock.now_ms()
        return assign_many(
            [stamped(lead, NAME, now) for lead in leads],
            rules=source.current(),
            owners=ready_owners,
            ledger=ready_ledger,
            clock=clock,
            last_resort_queue=settings.default_queue,
            on_decided=record_fairness,
        )

    def channel_topic_of(assignment: Assignment) -> tuple[str, ...]:
        return (topics.name(settings, topics.channel_topic(assignment["channel"])),)

    return lead_batch_step(
        NAME,
        assign_batch,
        clock,
        output=AvroCodec("Assignment"),
        on_output=record_metrics,
        also_to=channel_topic_of,
    )
