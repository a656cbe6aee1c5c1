"""The dead-letter envelope: everything a person needs to fix and replay a record."""

from __future__ import annotations

from typing import Any

from processors.errors import InvalidLead
from streams.serde import AvroCodec, HeaderList

DEAD_LETTER = AvroCodec("DeadLetter")


def envelope(
    *,
    stage: str,
    error: InvalidLead,
    value: bytes | None,
    key: bytes | None,
    headers: HeaderList,
    topic: str,
    partition: int,
    offset: int,
    failed_at_ms: int,
    lead_id: str | None = None,
) -> dict[str, Any]:
    return {
        "stage": stage,
        "error_code": error.code,
        "message": error.message,
        "lead_id": lead_id,
        "original_key": key,
        "original_value": value,
        "original_headers": [{"key": k, "value": v} for k, v in headers],
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "failed_at_ms": failed_at_ms,
    }
