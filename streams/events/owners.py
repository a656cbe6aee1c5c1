"""Owner change events: :class:`~processors.owners.models.Owner` ↔ messages on the compacted ``owners`` topic.

The key is the owner id as UTF-8 text, the value schemaless Avro of
``schemas/leadroute.Owner.avsc`` with the usual ``content-type`` and
``leadroute-schema`` headers, and a null value (a tombstone) deletes the owner.
Every change (load, set-status, out of office, caps) publishes the owner's
full record, so the latest event per key *is* the owner.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from processors.errors import InvalidLead
from processors.owners.models import Owner, owner_from_record, owner_to_record
from streams.serde import AvroCodec, HeaderList, header_list, read_event

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
    record = read_event(
        codec(),
        value,
        header_list(headers),
        event="The owner event",
        topic="the owners topic",
        how="publish owners with leadroute owners load",
    )
    try:
        return owner_from_record(record)
    except (ValueError, KeyError) as error:
        raise InvalidLead("schema_violation", f"The owner event is not a usable owner: {error}") from None
