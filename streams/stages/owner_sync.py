"""owner-sync: the compacted ``owners`` topic → the owner directory in Redis.

Keyed by owner id, so reading from the start rebuilds the current directory;
an upsert replaces the whole owner and a tombstone removes it, so a replay
after a crash converges to the same state. Each change bumps the directory's
version, which is how assign workers notice it within a second. An event
that cannot be read goes to leads.dlq with the stage name; Redis being down
stops the stage and the event is retried after the restart. A Redis that
comes back empty is refilled from the start of the topic before the stage
consumes again (:mod:`streams.recovery.rebuild`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from processors.errors import InvalidLead
from processors.owners.models import Owner
from processors.ports import Clock, SystemClock
from streams import dlq, metrics, topics, wiring
from streams.quix_io import current_message, topic_for
from streams.recovery.rebuild import StatePlan, StateRebuild
from streams.settings import Settings
from streams.stages.base import Message, Routed, dead_letter

NAME = "owner-sync"
INPUTS: tuple[str, ...] = (topics.OWNERS,)
INPUT = topics.OWNERS
OUTPUT: str | None = None


class OwnerWriter(Protocol):
    def upsert(self, owner: Owner) -> None: ...

    def delete(self, owner_id: str) -> None: ...


@dataclass(slots=True)
class OwnerSyncStep:
    """Applies one owner event; returns a DLQ record only for an unreadable event."""

    settings: Settings
    directory: OwnerWriter
    clock: Clock

    def __call__(self, message: Message) -> Routed | None:
        metrics.RECORDS_IN.labels(NAME).inc()
        routed = self.apply(message)
        if routed is None:
            metrics.LAST_PROCESSED.labels(NAME).set(time.time())
        return routed

    def apply(self, message: Message) -> Routed | None:
        """Writes one event to the directory (a rebuild replays through here too)."""
        from streams.events import owners as owner_events

        try:
            owner = owner_events.decode(message.value, message.headers)
            if owner is None and not message.key:
                raise InvalidLead(
                    "schema_violation",
                    "A tombstone on the owners topic has no key, so no owner can be deleted. "
                    "Publish deletes with the owner id as the key.",
                )
            if owner is not None and message.key and message.key.decode("utf-8", "replace") != owner.id:
                raise InvalidLead(
                    "schema_violation",
                    "The owner event's key is not its owner id; compaction would keep the wrong record. "
                    "Publish owners with leadroute owners load.",
                )
        except InvalidLead as error:
            return dead_letter(NAME, message, error, self.clock)
        # Redis failing raises DependencyUnavailable (streams.outages): exit 5, retried after restart.
        if owner is None:
            self.directory.delete(message.key.decode("utf-8", "replace"))  # type: ignore[union-attr]
        else:
            self.directory.upsert(owner)
        return None


def build_step(settings: Settings, clock: Clock, directory: OwnerWriter | None = None) -> OwnerSyncStep:
    if directory is None:
        directory = wiring.owner_directory(settings)
    return OwnerSyncStep(settings, directory, clock)


def state_plan(settings: Settings, directory: OwnerWriter | None = None) -> StatePlan:
    """The owner directory is this stage's to rebuild from the compacted owners topic."""

    step = build_step(settings, SystemClock(), directory)

    def apply(batch: list[Message]) -> None:
        for message in batch:
            step.apply(message)  # an unreadable event was dead-lettered when it first came

    return StatePlan(
        rebuilds=[
            StateRebuild(
                NAME,
                wiring.state_marker(settings, "owners"),
                settings,
                [topics.name(settings, topics.OWNERS)],
                apply,
            )
        ]
    )


def wire(app: Any, settings: Settings, step: OwnerSyncStep) -> None:
    """owners → the directory; unreadable events → leads.dlq (in the same transaction)."""
    dead_letters = topic_for(app, settings, topics.DLQ, dlq.DEAD_LETTER)
    out = metrics.RECORDS_OUT.labels(NAME, dead_letters.name)

    def handle(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> Routed | None:
        routed = step(current_message(value, key, timestamp, headers))
        if routed is not None:
            out.inc()
        return routed

    sdf = app.dataframe(topic_for(app, settings, topics.OWNERS, None))
    sdf = sdf.apply(handle, metadata=True)
    sdf = sdf.filter(lambda routed: routed is not None)
    sdf.to_topic(dead_letters, key=lambda routed: routed.key)
