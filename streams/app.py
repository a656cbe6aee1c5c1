"""The composition root: builds a stage's Quix Streams application from settings.

Quix topics carry plain bytes; :class:`~streams.stages.base.StageStep` decodes,
processes and encodes inside the pipeline, so a bad record becomes a DLQ write
in the same transaction as the offset commit, and nothing is ever skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypedDict

from quixstreams import Application
from quixstreams.error_callbacks import (
    ConsumerErrorCallback,
    ProcessingErrorCallback,
    ProducerErrorCallback,
    default_on_consumer_error,
    default_on_processing_error,
    default_on_producer_error,
)
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models.topics import Topic
from quixstreams.sinks import BaseSink

from processors.ports import Clock, SystemClock
from streams import topics
from streams.dlq import DEAD_LETTER
from streams.exits import exit_for
from streams.health import Health
from streams.metrics import RECORDS_OUT
from streams.quix_io import current_message, topic_for
from streams.serde import header_list
from streams.settings import Settings
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import BatchStep, Message, Routed, StageStep
from streams.stages.brake import DeadLetterBrake
from streams.stages.registry import STAGES

#: librdkafka statistics feed readiness (brokers up, stalled input) and lag: once a
#: second, so /healthz turns unready within seconds of an outage.
STATS_INTERVAL_MS = 1_000


def connection(settings: Settings) -> ConnectionConfig:
    security = {
        key: value
        for key, value in settings.kafka_client_config().items()
        if key.startswith(("security.", "sasl.", "ssl."))
    }
    return ConnectionConfig.from_librdkafka_dict(
        {"bootstrap.servers": settings.kafka_bootstrap, **security}, ignore_extras=True
    )


def producer_config(settings: Settings, stage: str) -> dict[str, Any]:
    """The stage's producer settings; under exactly-once with a transactional id stable per instance.

    Quix Streams would draw a random ``transactional.id`` at every start, so a
    process killed mid-transaction leaves a transaction nobody can abort until
    the broker's timeout runs out, and every read_committed reader downstream
    waits behind it. With the same id, the restarted process's
    ``init_transactions`` fences the dead one and ends its transaction at once.
    """
    config = settings.producer_config()
    if settings.processing_guarantee == "exactly-once":
        config.setdefault("transactional.id", settings.transactional_id(stage))
        config.setdefault("transaction.timeout.ms", settings.transaction_timeout_ms)
    return config


class ErrorCallbacks(TypedDict):
    """The error callbacks :class:`~quixstreams.Application` takes, by keyword."""

    on_consumer_error: ConsumerErrorCallback
    on_processing_error: ProcessingErrorCallback
    on_producer_error: ProducerErrorCallback


def error_callbacks(settings: Settings, stage: str) -> ErrorCallbacks:
    """Quix's error callbacks, without a traceback for an expected failure.

    Quix logs every failure with its traceback before it re-raises it. For an
    outage (Kafka or Redis unreachable, fenced, a topic gone) the runner ends the
    stage with one sentence and its exit code, so here it is one line; a bug keeps
    its traceback. Nothing is suppressed: each callback returns False, the failure
    stops the stage, and the record is processed again after the restart.
    """

    def quiet(default: Callable[[Exception, Any, Any], bool], what: str) -> Callable[..., bool]:
        def callback(error: Exception, item: Any, logger: Any) -> bool:
            if exit_for(error, settings, stage) is None:
                return default(error, item, logger)
            logger.warning("%s: %s", what, error)
            return False

        return callback

    return {
        "on_consumer_error": quiet(default_on_consumer_error, "Failed to consume from Kafka"),
        "on_processing_error": quiet(default_on_processing_error, "Failed to process a record"),
        "on_producer_error": quiet(default_on_producer_error, "Failed to produce to Kafka"),
    }


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
        producer_extra_config=producer_config(settings, stage),
        processing_guarantee=settings.processing_guarantee,  # type: ignore[arg-type]
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel=None,
        consumer_poll_timeout=0.2,
        broker_availability_timeout=settings.broker_timeout_seconds,
        **error_callbacks(settings, stage),
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


class BatchingStage(BaseSink):
    """Collects messages and runs a :class:`BatchStep` on them before offsets are committed.

    Quix flushes sinks at every checkpoint, before it flushes the producer and
    commits the consumed offsets (inside the transaction under exactly-once),
    so a batch's outputs and DLQ records commit together with its offsets and a
    crash replays the whole batch. A batch also runs as soon as it is full, so
    a busy stage never holds more than ``batch_size`` undecided records; a quiet
    one waits at most one commit interval.

    What the batches decided is sent at the checkpoint, not as each one is
    decided: when the dead-letter brake trips on a later batch of the same
    checkpoint, none of it was sent, so under at-least-once too the whole
    checkpoint is redone after the fix, and no lead is left in leads.dlq that
    then goes through (a stage holds at most one commit interval of outputs).
    """

    def __init__(
        self,
        step: BatchStep,
        produce: Any,
        destinations: dict[str, Topic],
        extra_headers: dict[str, dict[str, str]],
        out_counters: dict[str, Any],
        batch_size: int,
    ) -> None:
        super().__init__(on_client_connect_success=lambda: None)
        self._step = step
        self._produce = produce
        self._destinations = destinations
        self._extra_headers = extra_headers
        self._out_counters = out_counters
        self._batch_size = batch_size
        self._pending: list[Message] = []
        self._decided: list[Routed] = []  # sent at the checkpoint

    def add(
        self, value: Any, key: Any, timestamp: int, headers: Any, topic: str, partition: int, offset: int
    ) -> None:
        self._pending.append(Message(value, key, header_list(headers), topic, partition, offset, timestamp))
        if len(self._pending) >= self._batch_size:
            self._run()

    def flush(self) -> None:
        self._run()
        decided, self._decided = self._decided, []
        for routed in decided:
            self._send(routed)

    def on_paused(self) -> None:
        self._pending.clear()
        self._decided.clear()

    def _run(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._decided.extend(self._step(batch))  # the brake raises here, before anything is sent

    def _send(self, routed: Routed) -> None:
        # Like Quix's own to_topic: the input's headers travel on, ours replace theirs.
        ours = self._extra_headers[routed.destination]
        headers = [(k, v) for k, v in routed.headers if k not in ours] + [
            (k, v.encode()) for k, v in ours.items()
        ]
        self._produce(
            topic=self._destinations[routed.destination].name,
            key=routed.key,
            value=routed.value,
            headers=headers,
        )
        self._out_counters[routed.destination].inc()
        for topic in routed.also_to:
            self._produce(topic=topic, key=routed.key, value=routed.value, headers=headers)


def wire_batched(app: Application, settings: Settings, stage: str, step: BatchStep) -> None:
    """input topic → batches → output topic or DLQ, produced in the checkpoint's transaction."""
    module = STAGES[stage]
    source = topic_for(app, settings, module.INPUT, None)
    destinations = {
        "output": topic_for(app, settings, module.OUTPUT, step.output),
        DLQ_ROUTE: topic_for(app, settings, topics.DLQ, DEAD_LETTER),
    }
    headers = {"output": step.output.headers, DLQ_ROUTE: DEAD_LETTER.headers}
    out_counters = {route: RECORDS_OUT.labels(stage, topic.name) for route, topic in destinations.items()}
    # The application's own producer: transactional under exactly-once, so the
    # batch's records join the checkpoint that commits its input offsets. quixstreams
    # is pinned, and the batching integration test fails if this attribute moves.
    producer = app._producer
    sink = BatchingStage(step, producer.produce, destinations, headers, out_counters, settings.batch_size)
    app.dataframe(source).sink(sink)


def brake_for(settings: Settings, stage: str) -> DeadLetterBrake:
    """The stage's dead-letter brake, as LEADROUTE_DLQ_BRAKE_* set it."""
    return DeadLetterBrake(
        stage, settings.dlq_brake_ratio, settings.dlq_brake_window, settings.dlq_brake_consecutive
    )


def build_stage(settings: Settings, stage: str, health: Health, clock: Clock | None = None) -> Application:
    logging.getLogger("quixstreams").setLevel(max(logging.WARNING, logging.getLogger().level))
    app = build_application(settings, stage, health)
    module = STAGES[stage]
    step = module.build_step(settings, clock or SystemClock())
    if isinstance(step, StageStep | BatchStep):
        step.brake = brake_for(settings, stage)
    custom_wire = getattr(module, "wire", None)
    if custom_wire is not None:  # stages that are not one input → one output (crm-sync)
        custom_wire(app, settings, step)
    elif isinstance(step, BatchStep):
        wire_batched(app, settings, stage, step)
    else:
        wire(app, settings, stage, step)
    return app
