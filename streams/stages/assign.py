"""assign: leads.segmented → leads.assigned (Assignment events)."""

from __future__ import annotations

from processors.assign import DefaultQueuePolicy
from processors.models import Assignment
from processors.pipeline import assign_stage
from processors.ports import AssignmentStore, Clock
from streams import metrics, topics
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step

NAME = "assign"
INPUT = topics.SEGMENTED
OUTPUT = topics.ASSIGNED


def record_metrics(assignment: Assignment) -> None:
    metrics.ASSIGNMENTS.labels(
        assignment["destination_type"], assignment["destination"], assignment["channel"]
    ).inc()
    if not assignment["replayed"]:
        latency_ms = assignment["decided_at_ms"] - assignment["lead"]["received_at_ms"]
        metrics.LEAD_LATENCY_SECONDS.labels(assignment["channel"]).observe(max(latency_ms, 0) / 1000)


def build_step(settings: Settings, clock: Clock, store: AssignmentStore | None = None) -> StageStep:
    if store is None:
        from streams.adapters.redis_assignments import RedisAssignmentStore

        store = RedisAssignmentStore.from_settings(settings)
    policy = DefaultQueuePolicy(settings.default_queue, settings.default_channel)
    return lead_step(
        NAME,
        lambda lead: assign_stage(lead, policy=policy, store=store, clock=clock),
        clock,
        output=AvroCodec("Assignment"),
        on_output=record_metrics,
    )
