"""crm-sync: crm.accounts, crm.contacts, crm.leads, crm.opportunities → the Redis CRM mirror.

The CRM topics are compacted and keyed by record id, so reading them from the
start always rebuilds the current mirror; upserts are idempotent, so a replay
after a crash (Redis writes are not part of a Kafka transaction) converges to
the same state. A change event that cannot be read goes to leads.dlq with the
stage name, so nothing is dropped silently; Redis being down stops the stage
and the event is retried after the restart.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from processors.errors import DependencyUnavailable, InvalidLead
from processors.ports import Clock, CrmMirrorWriter
from streams import dlq, metrics, topics
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
        from streams import crm_events

        metrics.RECORDS_IN.labels(NAME).inc()
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
        try:
            if record is None:
                self.mirror.delete(kind, message.key.decode("utf-8", "replace"))  # type: ignore[arg-type, union-attr]
                metrics.CRM_SYNC_EVENTS.labels(kind, "delete").inc()
            else:
                self.mirror.upsert(kind, record)  # type: ignore[arg-type]
                metrics.CRM_SYNC_EVENTS.labels(kind, "upsert").inc()
        except DependencyUnavailable:
            raise
        except Exception as error:
            if _is_redis_error(error):
                raise DependencyUnavailable(f"the CRM mirror in Redis is unreachable: {error}") from error
            raise
        metrics.LAST_PROCESSED.labels(NAME).set(time.time())
        self.refresh_sizes()
        return None

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


def _is_redis_error(error: Exception) -> bool:
    import redis

    return isinstance(error, redis.RedisError | OSError)


def build_step(settings: Settings, clock: Clock, mirror: CrmMirrorWriter | None = None) -> CrmSyncStep:
    if mirror is None:
        from streams.adapters.redis_crm_mirror import RedisCrmMirror

        mirror = RedisCrmMirror.from_settings(settings)
    step = CrmSyncStep(settings, mirror, clock)
    step.refresh_sizes()  # the gauges show the mirror at start, before any change arrives
    return step


def wire(app: Any, settings: Settings, step: CrmSyncStep) -> None:
    """Every CRM topic → the mirror; unreadable events → leads.dlq (in the same transaction)."""
    from streams.app import current_message, topic_for

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
