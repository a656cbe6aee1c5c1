"""The dead-letter envelope: everything a person needs to fix and replay a record."""

from __future__ import annotations

from typing import Any

from processors.errors import InvalidLead
from streams.serde import AvroCodec, HeaderList

DEAD_LETTER = AvroCodec("DeadLetter")


def _utf8(text: str | None) -> str | None:
    """Text that always encodes as UTF-8: the envelope is the last resort and must never fail.

    A lone surrogate (from a hostile lead id, header name or a message quoting
    the lead) becomes "?"; the original bytes are in the envelope untouched.
    """
    if text is None or text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


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
        "message": _utf8(error.message),
        "lead_id": _utf8(lead_id),
        "original_key": key,
        "original_value": value,
        "original_headers": [{"key": _utf8(k), "value": v} for k, v in headers],
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "failed_at_ms": failed_at_ms,
    }
