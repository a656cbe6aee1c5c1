"""The composition root: builds a stage's Quix Streams application from settings.

Quix topics carry plain bytes; :class:`~streams.stages.base.StageStep` decodes,
processes and encodes inside the pipeline, so a bad record becomes a DLQ write
in the same transaction as the offset commit, and nothing is ever skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from quixstreams import Application, message_context
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models.serializers import SerializationContext, Serializer
from quixstreams.models.topics import Topic, TopicConfig

from processors.ports import Clock, SystemClock
from streams import topics
from streams.dlq import DEAD_LETTER
from streams.metrics import RECORDS_OUT, Health
from streams.serde import AvroCodec, header_list
from streams.settings import Settings
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import Message, Routed, StageStep
from streams.stages.registry import STAGES

STATS_INTERVAL_MS = 5_000


class PreEncoded(Serializer):
    """Passes the step's bytes through and labels them with their content type."""

    def __init__(self, codec: AvroCodec) -> None:
        self._headers = codec.headers

    def __call__(self, value: Routed, ctx: SerializationContext) -> bytes:
        return value.value

    @property
    def extra_headers(self) -> dict[str, str]:
        return self._headers


def connection(settings: Settings) -> ConnectionConfig:
    security = {
        key: value
        for key, value in settings.kafka_client_config().items()
        if key.startswith(("security.", "sasl.", "ssl."))
    }
    return ConnectionConfig.from_librdkafka_dict(
        {"bootstrap.servers": settings.kafka_bootstrap, **security}, ignore_extras=True
    )


def build_application(settings: Settings, stage: str, health: Health) -> Application:
    consumer_config: dict[str, Any] = {
        **settings.consumer_config(),
        "stats_cb": health.on_stats,
        "statistics.interval.ms": STATS_INTERVAL_MS,
    }
    return Application(
        broker_address=connection(settings),
        consumer_group=f"{settings.group_prefix}-{stage}",
        auto_offset_reset=settings.auto_offset_reset,  # type: ignore[arg-type]
        commit_interval=settings.commit_interval,
        consumer_extra_config=consumer_config,
        producer_extra_config=settings.producer_config(),
        processing_guarantee=settings.processing_guarantee,  # type: ignore[arg-type]
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel=None,
        consumer_poll_timeout=0.2,
    )


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


def wire(app: Application, settings: Settings, stage: str, step: StageStep) -> None:
    """input topic → step → output topic or DLQ."""
    module = STAGES[stage]
    source = topic_for(app, settings, module.INPUT, None)
    destinations = {
        "output": topic_for(app, settings, module.OUTPUT, step.output),
        DLQ_ROUTE: topic_for(app, settings, topics.DLQ, DEAD_LETTER),
    }
    out_counters = {route: RECORDS_OUT.labels(stage, topic.name) for route, topic in destinations.items()}

    def handle(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> Routed:
        routed = step(current_message(value, key, timestamp, headers))
        out_counters[routed.destination].inc()
        return routed

    sdf = app.dataframe(source)
    sdf = sdf.apply(handle, metadata=True)
    sdf.to_topic(
        lambda routed, key, timestamp, headers: destinations[routed.destination],
        key=lambda routed: routed.key,
    )


def build_stage(settings: Settings, stage: str, health: Health, clock: Clock | None = None) -> Application:
    logging.getLogger("quixstreams").setLevel(max(logging.WARNING, logging.getLogger().level))
    app = build_application(settings, stage, health)
    module = STAGES[stage]
    step = module.build_step(settings, clock or SystemClock())
    custom_wire = getattr(module, "wire", None)
    if custom_wire is not None:  # stages that are not one input → one output (crm-sync)
        custom_wire(app, settings, step)
    else:
        wire(app, settings, stage, step)
    return app
