"""Owner change events: :class:`~processors.owners.models.Owner` ↔ messages on the compacted ``owners`` topic.

The key is the owner id as UTF-8 text, the value schemaless Avro of
``schemas/leadroute.Owner.avsc`` with the usual ``content-type`` and
``leadroute-schema`` headers, and a null value (a tombstone) deletes the owner.
Every change (load, set-status, out of office, caps) publishes the owner's
full record, so the latest event per key *is* the owner.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

import fastavro

from processors.errors import InvalidLead
from processors.owners.models import Owner, owner_from_record, owner_to_record
from streams.serde import CONTENT_TYPE, SCHEMA_HEADER, AvroCodec, HeaderList, header_list, header_value

Event = tuple[bytes, bytes | None, HeaderList]


@cache
def codec() -> AvroCodec:
    return AvroCodec("Owner")


def _headers() -> HeaderList:
    return [(name, value.encode()) for name, value in codec().headers.items()]


def _key(owner_id: str) -> bytes:
    if not isinstance(owner_id, str) or not owner_id.strip():
        raise ValueError("an owner needs a non-empty id: it is the message key")
    return owner_id.encode("utf-8")


def encode(owner: Owner) -> Event:
    """(key, value, headers) of the event that upserts ``owner``."""
    return _key(owner.id), codec().encode(owner_to_record(owner)), _headers()


def tombstone(owner_id: str) -> Event:
    """(key, None, headers): deletes the owner once owner-sync reads it."""
    return _key(owner_id), None, _headers()


def decode(value: bytes | None, headers: Any = None) -> Owner | None:
    """The owner an event carries, None for a tombstone; InvalidLead for anything untrustworthy."""
    if value is None:
        return None
    what = codec()
    found = header_list(headers)
    declared = (header_value(found, CONTENT_TYPE) or "").split(";")[0].strip().lower()
    if declared and declared != what.content_type:
        raise InvalidLead(
            "unsupported_content_type",
            f"The owner event declares content-type {declared!r}; the owners topic carries "
            f"{what.content_type} (schemas/leadroute.Owner.avsc). Publish with leadroute owners load.",
        )
    written_with = header_value(found, SCHEMA_HEADER)
    if written_with is not None and written_with != what.fingerprint:
        raise InvalidLead(
            "schema_mismatch",
            f"The owner event was written with Owner schema {written_with}; this reader has "
            f"{what.fingerprint}. Run the publisher and owner-sync at the same version.",
        )
    buffer = io.BytesIO(value)
    try:
        record = fastavro.schemaless_reader(buffer, what.schema)
    except Exception as error:  # noqa: BLE001 - any decode failure is the event's fault
        raise InvalidLead(
            "undecodable",
            f"The owner event is not an Owner record in Avro ({type(error).__name__}); "
            "publish owners with leadroute owners load.",
        ) from None
    if buffer.tell() != len(value):
        raise InvalidLead("undecodable", "The owner event has bytes after its Owner record.")
    try:
        return owner_from_record(record)
    except (ValueError, KeyError) as error:
        raise InvalidLead("schema_violation", f"The owner event is not a usable owner: {error}") from None
