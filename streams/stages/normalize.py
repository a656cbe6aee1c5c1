"""normalize: leads.raw (JSON, Avro, Confluent Avro) → leads.normalized (Lead)."""

from __future__ import annotations

from typing import Any

from processors.pipeline import normalize_stage
from processors.ports import Clock
from streams import topics
from streams.serde import AvroCodec, IngestDecoder
from streams.settings import Settings
from streams.stages.base import Message, Progress, StageStep

NAME = "normalize"
INPUT = topics.RAW
OUTPUT = topics.NORMALIZED


def build_step(settings: Settings, clock: Clock, *, registry_client: Any = None) -> StageStep:
    """``registry_client`` replaces the one built from the URL (tests share a mock)."""
    decoder = IngestDecoder(settings.schema_registry_url, registry_client=registry_client)

    def process(message: Message, progress: Progress) -> tuple[str, Any]:
        raw = decoder.decode(message.value, message.headers, message.topic)
        lead = normalize_stage(raw, received_at_ms=message.timestamp_ms, clock=clock)
        progress.lead_id = lead["lead_id"]
        return lead["lead_id"], lead

    return StageStep(NAME, process, AvroCodec("Lead"), clock)
