"""normalize: leads.raw (JSON, Avro, Confluent Avro) → leads.normalized (Lead)."""

from __future__ import annotations

from typing import Any

from processors.intake import raw_lead_from_json
from processors.normalize import normalize_lead
from processors.pipeline import normalize_stage
from processors.ports import Clock
from streams import topics
from streams.serde import AvroCodec, IngestDecoder
from streams.settings import Settings
from streams.stages.base import Message, Progress, StageStep

NAME = "normalize"
INPUT = topics.RAW
OUTPUT = topics.NORMALIZED

#: Touches every lookup table the normalizer loads lazily (countries, subdivisions,
#: phone metadata, the public suffix list) so the first real lead does not wait ~1 s.
_WARM_UP_LEAD = {
    "email": "warm.up+x@mail.example.co.uk",
    "phone": "+44 20 7946 0958 ext. 1",
    "country": "Deutschland",
    "state": "Bayern",
    "company": "Warm-Up GmbH",
    "website": "https://www.example.co.uk/",
    "first_name": "o'neil",
    "title": "Sr. VP, Sales",
    "employees": "51-200",
    "source": "web form",
    "submitted_at": "2026-01-01T00:00:00+01:00",
}


def build_step(settings: Settings, clock: Clock, *, registry_client: Any = None) -> StageStep:
    """``registry_client`` replaces the one built from the URL (tests share a mock)."""
    decoder = IngestDecoder(settings.schema_registry_url, registry_client=registry_client)
    normalize_lead(raw_lead_from_json(_WARM_UP_LEAD))

    def process(message: Message, progress: Progress) -> tuple[str, Any]:
        raw = decoder.decode(message.value, message.headers, message.topic)
        lead = normalize_stage(
            raw,
            received_at_ms=message.timestamp_ms,
            clock=clock,
            max_custom_bytes=settings.max_custom_bytes,
        )
        progress.lead_id = lead["lead_id"]
        return lead["lead_id"], lead

    return StageStep(NAME, process, AvroCodec("Lead"), clock)
