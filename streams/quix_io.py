"""Where a stage meets Quix Streams' topics and messages: shared by every stage's wiring.

Stages that wire themselves (crm-sync and owner-sync read several topics into
Redis) and the generic wiring in :mod:`streams.app` build topics and read the
current message the same way, from here.
"""

from __future__ import annotations

from typing import Any

from quixstreams import Application, message_context
from quixstreams.models.serializers import SerializationContext, Serializer
from quixstreams.models.topics import Topic, TopicConfig

from streams import topics
from streams.serde import AvroCodec, header_list
from streams.settings import Settings
from streams.stages.base import Message, Routed


class PreEncoded(Serializer):
    """Passes the step's bytes through and labels them with their content type."""

    def __init__(self, codec: AvroCodec) -> None:
        self._headers: dict[str, str | bytes] = dict(codec.headers)

    def __call__(self, value: Routed, ctx: SerializationContext) -> bytes:
        return value.value

    @property
    def extra_headers(self) -> dict[str, str | bytes]:
        return self._headers


def topic_for(app: Application, settings: Settings, base: str, codec: AvroCodec | None) -> Topic:
    return app.topic(
        topics.name(settings, base),
        key_deserializer="bytes",
        value_deserializer="bytes",
        key_serializer="bytes",
        value_serializer=PreEncoded(codec) if codec else "bytes",
        config=TopicConfig(
            num_partitions=settings.partitions, replication_factor=settings.replication_factor
        ),
    )


def current_message(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> Message:
    """The message Quix is processing, with where it came from (for DLQ envelopes)."""
    context = message_context()
    return Message(
        value=value,
        key=key,
        headers=header_list(headers),
        topic=context.topic,
        partition=context.partition,
        offset=context.offset,
        timestamp_ms=timestamp,
    )
