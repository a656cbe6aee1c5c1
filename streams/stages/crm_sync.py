"""crm-sync: crm.accounts, crm.contacts, crm.leads, crm.opportunities → the Redis CRM mirror.

The CRM topics are compacted and keyed by record id, so reading them from the
start always rebuilds the current mirror; upserts are idempotent, so a replay
after a crash (Redis writes are not part of a Kafka transaction) converges to
the same state. A change event that cannot be read goes to leads.dlq with the
stage name, so nothing is dropped silently; Redis being down stops the stage
and the event is retried after the restart. A Redis that comes back empty is
refilled from the start of the topics before the stage consumes again
(:mod:`streams.recovery.rebuild`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from processors.errors import InvalidLead
from processors.ports import Clock, CrmMirrorWriter, SystemClock
from streams import dlq, metrics, topics, wiring
from streams.quix_io import current_message, topic_for
from streams.recovery.rebuild import StatePlan, StateRebuild
from streams.settings import Settings
from streams.stages.base import Message, Routed, dead_letter

log = logging.getLogger(__name__)

NAME = "crm-sync"
INPUTS: tuple[str, ...] = tuple(topics.CRM_TOPICS.values())
INPUT = topics.CRM_ACCOUNTS  # the first input, for tools that expect one
OUTPUT: str | None = None
KIND_FOR_TOPIC = {topic: kind for kind, topic in topics.CRM_TOPICS.items()}

#: How often the mirror-size gauges are refreshed (a SCAN-free count per kind).
_SIZES_EVERY_S = 10.0


@dataclass(slots=True)
class CrmSyncStep:
    """Applies one change event to the mirror; returns a DLQ record only for unreadable events."""

    settings: Settings
    mirror: CrmMirrorWriter
    clock: Clock
    _sizes_at: float = field(default=0.0, init=False)

    def kind_of(self, topic: str) -> str:
        return KIND_FOR_TOPIC[topic.removeprefix(self.settings.topic_prefix)]

    def __call__(self, message: Message) -> Routed | None:
        metrics.RECORDS_IN.labels(NAME).inc()
        routed = self.apply(message)
        if routed is None:
            metrics.LAST_PROCESSED.labels(NAME).set(time.time())
            self.refresh_sizes()
        return routed

    def apply(self, message: Message) -> Routed | None:
        """Writes one change event to the mirror; a DLQ record if it cannot be read."""
        from streams.events import crm as crm_events

        kind = self.kind_of(message.topic)
        try:
            record = crm_events.decode(kind, message.value, message.headers)  # type: ignore[arg-type]
            if record is None and not message.key:
                raise InvalidLead(
                    "schema_violation",
                    f"A tombstone on {message.topic} has no key, so no record can be deleted. "
                    "Publish deletes with the record id as the key.",
                )
        except InvalidLead as error:
            return dead_letter(NAME, message, error, self.clock)
        # Redis failing raises DependencyUnavailable (streams.outages): exit 5, retried after restart.
        if record is None:
            self.mirror.delete(kind, message.key.decode("utf-8", "replace"))  # type: ignore[arg-type, union-attr]
            metrics.CRM_SYNC_EVENTS.labels(kind, "delete").inc()
        else:
            self.mirror.upsert(kind, record)  # type: ignore[arg-type]
            metrics.CRM_SYNC_EVENTS.labels(kind, "upsert").inc()
        return None

    def apply_many(self, batch: list[Message]) -> None:
        """A rebuild's batch in two round trips where the mirror can (unreadable events are skipped:
        they were dead-lettered when they first came)."""
        from streams.events import crm as crm_events

        upsert_many = getattr(self.mirror, "upsert_many", None)
        if upsert_many is None:
            for message in batch:
                self.apply(message)
            return
        changes = []
        for message in batch:
            kind = self.kind_of(message.topic)
            try:
                record = crm_events.decode(kind, message.value, message.headers)  # type: ignore[arg-type]
            except InvalidLead:
                continue
            if record is not None:
                changes.append((kind, record["id"], record))
            elif message.key:
                changes.append((kind, message.key.decode("utf-8", "replace"), None))
        upsert_many(changes)  # Redis failing raises DependencyUnavailable (streams.outages): exit 5
        self._sizes_at = 0.0
        self.refresh_sizes()

    def refresh_sizes(self) -> None:
        now = time.monotonic()
        if now - self._sizes_at < _SIZES_EVERY_S:
            return
        self._sizes_at = now
        sizes = getattr(self.mirror, "sizes", None)
        if sizes is None:
            return
        try:
            for kind, count in sizes().items():
                metrics.CRM_MIRROR_RECORDS.labels(kind).set(count)
        except Exception as error:  # noqa: BLE001 - a gauge must never stop the sync
            log.debug("could not read mirror sizes: %s", error)


def build_step(settings: Settings, clock: Clock, mirror: CrmMirrorWriter | None = None) -> CrmSyncStep:
    if mirror is None:
        mirror = wiring.crm_mirror(settings)
    step = CrmSyncStep(settings, mirror, clock)
    step.refresh_sizes()  # the gauges show the mirror at start, before any change arrives
    return step


def state_plan(settings: Settings, mirror: CrmMirrorWriter | None = None) -> StatePlan:
    """The CRM mirror is this stage's to rebuild from the compacted CRM topics.

    A rebuild first clears what the keyspace still holds: after an upgrade that
    changed the index layout, the old records' postings would otherwise stay.
    """

    step = build_step(settings, SystemClock(), mirror)
    return StatePlan(
        rebuilds=[
            StateRebuild(
                NAME,
                wiring.state_marker(settings, "crm"),
                settings,
                [topics.name(settings, topic) for topic in INPUTS],
                step.apply_many,
                before=getattr(step.mirror, "forget_records", None),
            )
        ]
    )


def wire(app: Any, settings: Settings, step: CrmSyncStep) -> None:
    """Every CRM topic → the mirror; unreadable events → leads.dlq (in the same transaction)."""
    dead_letters = topic_for(app, settings, topics.DLQ, dlq.DEAD_LETTER)
    out = metrics.RECORDS_OUT.labels(NAME, dead_letters.name)

    def handle(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> Routed | None:
        routed = step(current_message(value, key, timestamp, headers))
        if routed is not None:
            out.inc()
        return routed

    for base in INPUTS:
        sdf = app.dataframe(topic_for(app, settings, base, None))
        sdf = sdf.apply(handle, metadata=True)
        sdf = sdf.filter(lambda routed: routed is not None)
        sdf.to_topic(dead_letters, key=lambda routed: routed.key)
