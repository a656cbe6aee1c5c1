"""The one shape every stage has: decode, process, encode, or dead-letter.

:class:`StageStep` is called once per Kafka message by the Quix pipeline built in
:mod:`streams.app`, and directly by tests. It never raises for a bad record;
it raises only :class:`~processors.errors.DependencyUnavailable`, which stops
the stage so the record is retried instead of dead-lettered.
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


@dataclass(slots=True)
class StageStep:
    """Wraps one stage's processing with decoding, encoding, dead-lettering and metrics."""

    stage: str
    process: Callable[[Message, Progress], tuple[str, Any]]
    output: AvroCodec
    clock: Clock
    on_output: Callable[[Any], None] | None = None
    _in: Any = field(init=False, repr=False)
    _seconds: Any = field(init=False, repr=False)
    _last: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._in = metrics.RECORDS_IN.labels(self.stage)
        self._seconds = metrics.PROCESSING_SECONDS.labels(self.stage)
        self._last = metrics.LAST_PROCESSED.labels(self.stage)
        for code in DLQ_CODES:  # series exist from the start, so rate() sees the first one
            metrics.DLQ.labels(self.stage, code)

    def __call__(self, message: Message) -> Routed:
        started = time.perf_counter()
        self._in.inc()
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
            log.warning(
                "stage %s failed on a record (%s); dead-lettering it",
                self.stage,
                type(error).__name__,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            problem = InvalidLead(
                "processing_error",
                f"The {self.stage} stage failed on this lead: {type(error).__name__}: "
                f"{str(error)[:300]}. Report it with the record; it can be replayed once fixed.",
            )
            routed = self._dead_letter(message, problem, progress)
        self._seconds.observe(time.perf_counter() - started)
        self._last.set(time.time())
        return routed

    def _dead_letter(self, message: Message, error: InvalidLead, progress: Progress) -> Routed:
        return dead_letter(self.stage, message, error, self.clock, progress.lead_id)


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
