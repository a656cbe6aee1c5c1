"""The one shape every stage has: decode, process, encode, or dead-letter.

:class:`StageStep` is called once per Kafka message by the Quix pipeline built in
:mod:`streams.app`, and directly by tests. It never raises for a bad record;
it raises only :class:`~processors.errors.DependencyUnavailable`, which stops
the stage so the record is retried instead of dead-lettered, and
:class:`~streams.stages.brake.DeadLetterBrakeTripped` when its brake (set by
:mod:`streams.app` from settings) says too many records were dead-lettered for a bug.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from processors.errors import DLQ_CODES, DependencyUnavailable, InvalidLead
from processors.ports import Clock
from streams import dlq, metrics
from streams.serde import AvroCodec, HeaderList
from streams.stages.brake import DeadLetterBrake

log = logging.getLogger(__name__)

OUTPUT = "output"
DEAD_LETTER = "dlq"


@dataclass(slots=True)
class Message:
    """One Kafka message as a stage sees it."""

    value: bytes | None
    key: bytes | None
    headers: HeaderList
    topic: str
    partition: int
    offset: int
    timestamp_ms: int


@dataclass(slots=True)
class Progress:
    """What a stage learned about the record before it failed, for the envelope."""

    lead_id: str | None = None


@dataclass(slots=True)
class Routed:
    """An encoded record and where it goes: the stage's output or the DLQ."""

    destination: str
    key: bytes | None
    value: bytes
    lead_id: str | None = None
    error_code: str | None = None
    headers: HeaderList = field(default_factory=list)  # the input's, carried on by batched stages
    also_to: tuple[str, ...] = ()  # more topics (full names) that get the same output record


@dataclass(slots=True)
class StepMetrics:
    """The series both step kinds keep for their stage."""

    records_in: Any
    seconds: Any
    last: Any

    @classmethod
    def of(cls, stage: str) -> StepMetrics:
        for code in DLQ_CODES:  # series exist from the start, so rate() sees the first one
            metrics.DLQ.labels(stage, code)
        return cls(
            metrics.RECORDS_IN.labels(stage),
            metrics.PROCESSING_SECONDS.labels(stage),
            metrics.LAST_PROCESSED.labels(stage),
        )


def processing_error(stage: str, kind: str, detail: str) -> InvalidLead:
    """The dead-letter reason for a record a stage failed on (an exception, not the data)."""
    log.warning("stage %s failed on a record (%s); dead-lettering it", stage, kind)
    return InvalidLead(
        "processing_error",
        f"The {stage} stage failed on this lead: {kind}: {detail[:300]}. "
        "Report it with the record; it can be replayed once fixed.",
    )


@dataclass(slots=True)
class StageStep:
    """Wraps one stage's processing with decoding, encoding, dead-lettering and metrics."""

    stage: str
    process: Callable[[Message, Progress], tuple[str, Any]]
    output: AvroCodec
    clock: Clock
    on_output: Callable[[Any], None] | None = None
    brake: DeadLetterBrake | None = None
    _metrics: StepMetrics = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._metrics = StepMetrics.of(self.stage)

    def __call__(self, message: Message) -> Routed:
        started = time.perf_counter()
        self._metrics.records_in.inc()
        progress = Progress()
        try:
            lead_id, record = self.process(message, progress)
            routed = Routed(OUTPUT, lead_id.encode(), self.output.encode(record), lead_id)
            if self.on_output is not None:
                self.on_output(record)
        except DependencyUnavailable:
            raise
        except InvalidLead as error:
            routed = self._dead_letter(message, error, progress)
        except Exception as error:
            log.debug("stage %s failed on a record", self.stage, exc_info=True)
            problem = processing_error(self.stage, type(error).__name__, str(error))
            routed = self._dead_letter(message, problem, progress)
        self._metrics.seconds.observe(time.perf_counter() - started)
        self._metrics.last.set(time.time())
        if self.brake is not None:
            self.brake.record(routed.error_code)  # raises before Quix hands the record on
        return routed

    def _dead_letter(self, message: Message, error: InvalidLead, progress: Progress) -> Routed:
        return dead_letter(self.stage, message, error, self.clock, progress.lead_id or error.lead_id)


def dead_letter(
    stage: str, message: Message, error: InvalidLead, clock: Clock, lead_id: str | None = None
) -> Routed:
    """The DLQ record for ``message``: counted, logged without personal data, and routed."""
    metrics.DLQ.labels(stage, error.code).inc()
    log.info(
        "dead-lettered %s[%d]@%d at stage %s: %s",
        message.topic,
        message.partition,
        message.offset,
        stage,
        error.code,
    )
    record = dlq.envelope(
        stage=stage,
        error=error,
        value=message.value,
        key=message.key,
        headers=message.headers,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        failed_at_ms=clock.now_ms(),
        lead_id=lead_id,
    )
    return Routed(DEAD_LETTER, message.key, dlq.DEAD_LETTER.encode(record), lead_id, error.code)


def lead_step(
    stage: str,
    transform: Callable[[Any], Any],
    clock: Clock,
    *,
    output: AvroCodec | None = None,
    on_output: Callable[[Any], None] | None = None,
) -> StageStep:
    """A step for the stages that read a ``Lead`` from the previous stage."""
    from streams.serde import LeadDecoder

    decoder = LeadDecoder()

    def process(message: Message, progress: Progress) -> tuple[str, Any]:
        lead = decoder.decode(message.value, message.headers)
        progress.lead_id = lead["lead_id"]
        return lead["lead_id"], transform(lead)

    return StageStep(stage, process, output or AvroCodec("Lead"), clock, on_output)


@dataclass(slots=True)
class BatchStep:
    """A stage that decides many leads with one round trip to shared state.

    The match and assign stages talk to Redis for every lead; pipelining a
    whole batch turns thousands of round trips into one. A bad record still
    fails alone: it is dead-lettered and the rest of the batch goes on. If
    the batch as a whole fails for a reason other than a dependency outage,
    each lead is retried on its own so only the one that breaks is lost to
    the DLQ, never its neighbours.
    """

    stage: str
    decode: Callable[[Message], Any]
    lead_id_of: Callable[[Any], str]
    process_many: Callable[[list[Any]], list[Any]]
    output: AvroCodec
    clock: Clock
    on_output: Callable[[Any], None] | None = None
    also_to: Callable[[Any], tuple[str, ...]] | None = None
    #: Encodes (decoded input, output record) when the output reuses the input's bytes;
    #: ``output`` still names the schema and headers.
    encode_output: Callable[[Any, Any], bytes] | None = None
    brake: DeadLetterBrake | None = None
    _metrics: StepMetrics = field(init=False, repr=False)
    _batch_size: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._metrics = StepMetrics.of(self.stage)
        self._batch_size = metrics.BATCH_SIZE.labels(self.stage)

    def __call__(self, messages: list[Message]) -> list[Routed]:
        if not messages:
            return []
        started = time.perf_counter()
        self._metrics.records_in.inc(len(messages))
        self._batch_size.observe(len(messages))
        routed: list[Routed | None] = [None] * len(messages)
        decoded: list[tuple[int, Any]] = []
        for index, message in enumerate(messages):
            try:
                decoded.append((index, self.decode(message)))
            except InvalidLead as error:
                routed[index] = dead_letter(self.stage, message, error, self.clock, error.lead_id)
        for index, outcome in self._process(decoded, messages):
            routed[index] = outcome
        for index, item in enumerate(routed):
            if item is not None:
                item.headers = messages[index].headers
        elapsed = time.perf_counter() - started
        per_record = elapsed / len(messages)
        for _ in messages:
            self._metrics.seconds.observe(per_record)
        self._metrics.last.set(time.time())
        outcomes = [item for item in routed if item is not None]
        if self.brake is not None:
            for item in outcomes:  # raises before the batch is sent, so it is not committed
                self.brake.record(item.error_code)
        return outcomes

    def one(self, message: Message) -> Routed:
        """One message as a batch of one (tests, benchmarks, tools)."""
        return self([message])[0]

    def _process(self, decoded: list[tuple[int, Any]], messages: list[Message]) -> list[tuple[int, Routed]]:
        if not decoded:
            return []
        leads = [lead for _, lead in decoded]
        try:
            records = self.process_many(leads)
        except DependencyUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - isolated below; only the lead that breaks is lost
            if len(decoded) == 1:
                index, lead = decoded[0]
                return [(index, self._failed(messages[index], lead, type(error).__name__, str(error)))]
            log.warning(
                "stage %s: a batch of %d failed; retrying its leads one at a time", self.stage, len(decoded)
            )
            return [item for pair in decoded for item in self._process([pair], messages)]
        return [
            (index, self._encode(messages[index], lead, record))
            for (index, lead), record in zip(decoded, records, strict=True)
        ]

    def _encode(self, message: Message, lead: Any, record: Any) -> Routed:
        lead_id = self.lead_id_of(lead)
        try:
            value = (
                self.output.encode(record) if self.encode_output is None else self.encode_output(lead, record)
            )
            routed = Routed(OUTPUT, lead_id.encode(), value, lead_id)
        except Exception as error:  # noqa: BLE001 - an unencodable output is this record's problem
            return self._failed(message, lead, type(error).__name__, str(error))
        if self.also_to is not None:
            routed.also_to = self.also_to(record)
        if self.on_output is not None:
            self.on_output(record)
        return routed

    def _failed(self, message: Message, lead: Any, kind: str, detail: str) -> Routed:
        problem = processing_error(self.stage, kind, detail)
        return dead_letter(self.stage, message, problem, self.clock, self.lead_id_of(lead))


def lead_batch_step(
    stage: str,
    transform_many: Callable[[list[Any]], list[Any]],
    clock: Clock,
    *,
    output: AvroCodec | None = None,
    on_output: Callable[[Any], None] | None = None,
    also_to: Callable[[Any], tuple[str, ...]] | None = None,
) -> BatchStep:
    """A batch step for the stages that read a ``Lead`` from the previous stage."""
    from streams.serde import LeadDecoder

    decoder = LeadDecoder()
    return BatchStep(
        stage,
        lambda message: decoder.decode(message.value, message.headers),
        lambda lead: lead["lead_id"],
        transform_many,
        output or AvroCodec("Lead"),
        clock,
        on_output,
        also_to,
    )
