"""CRM change events: records of ``processors.crm.models`` ↔ Kafka messages on the ``crm.*`` topics.

The contract (see ``docs/crm.md``): the key is the record id as UTF-8 text, the
value is schemaless Avro of ``CrmAccount``, ``CrmPerson`` or ``CrmOpportunity``
with the same ``content-type`` and ``leadroute-schema`` headers as every other
topic leadroute writes, and a null value (a tombstone) deletes the record. The
topics are compacted, so the latest event per key *is* the CRM mirror.

Whoever reads these topics (the mirror sync, a test, a replay) decodes with
:func:`decode`, which turns anything it cannot trust into an
:class:`~processors.errors.InvalidLead` with a sentence saying what to fix,
rather than indexing a half-read record.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from processors.crm.models import RECORD_KINDS, RecordKind
from processors.errors import InvalidLead
from streams.serde import AvroCodec, HeaderList, header_list, read_event
from streams.topics import CRM_TOPICS

#: The Avro record each kind is written with; contacts and leads share one.
RECORD_FOR_KIND: dict[RecordKind, str] = {
    "account": "CrmAccount",
    "contact": "CrmPerson",
    "lead": "CrmPerson",
    "opportunity": "CrmOpportunity",
}
#: Base topic name → the kind of record it carries.
KIND_FOR_TOPIC: dict[str, RecordKind] = {topic: cast(RecordKind, kind) for kind, topic in CRM_TOPICS.items()}

Event = tuple[bytes, bytes | None, HeaderList]


@cache
def codec(kind: RecordKind) -> AvroCodec:
    """The codec for ``kind``; schemas are parsed once per process."""
    if kind not in RECORD_FOR_KIND:
        raise ValueError(f"unknown CRM record kind {kind!r}; expected one of {', '.join(RECORD_KINDS)}")
    return AvroCodec(RECORD_FOR_KIND[kind])


def kind_for_topic(topic: str, prefix: str = "") -> RecordKind:
    """The record kind a (possibly prefixed) CRM topic carries: a person's kind follows from it."""
    base = topic[len(prefix) :] if prefix and topic.startswith(prefix) else topic
    try:
        return KIND_FOR_TOPIC[base]
    except KeyError:
        raise ValueError(f"{topic!r} is not a CRM topic ({', '.join(CRM_TOPICS.values())})") from None


def _headers(kind: RecordKind) -> HeaderList:
    return [(name, value.encode()) for name, value in codec(kind).headers.items()]


def _key(record_id: str) -> bytes:
    if not isinstance(record_id, str) or not record_id.strip():
        raise ValueError("a CRM record needs a non-empty id: it is the message key")
    return record_id.encode("utf-8")


def encode(kind: RecordKind, record: Any) -> Event:
    """(key, value, headers) of the event that upserts ``record``.

    A contact or lead is written with the kind of its topic; a record that says
    otherwise is a caller's bug, so it raises instead of landing on the wrong topic.
    """
    key = _key(record.get("id"))
    if kind in ("contact", "lead"):
        stated = record.get("kind")
        if stated not in (None, kind):
            topic = CRM_TOPICS.get(stated, "another topic")
            raise ValueError(f"a {stated} cannot be published as a {kind}: it goes to {topic}")
        if stated is None:
            record = {**record, "kind": kind}
    try:
        value = codec(kind).encode(record)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"the {kind} {record.get('id')!r} does not fit its schema: {error}") from None
    return key, value, _headers(kind)


def tombstone(kind: RecordKind, record_id: str) -> Event:
    """(key, None, headers): compaction keeps it until every reader has seen the delete."""
    return _key(record_id), None, _headers(kind)


def decode(kind: RecordKind, value: bytes | None, headers: Any = None) -> Any:
    """The record an event carries, or None for a tombstone (delete the record).

    Raises :class:`InvalidLead` when the value is not a record of ``kind``
    written with this version's schema.
    """
    if value is None:
        return None
    what = codec(kind)
    if value == b"":
        raise InvalidLead(
            "undecodable",
            f"The {kind} event has an empty value; publish a null value (a tombstone) to delete a record.",
        )
    record = read_event(
        what,
        value,
        header_list(headers),
        event=f"The {kind} event",
        topic=CRM_TOPICS[kind],
        how=f"publish it with leadroute crm load or encode it with schemas/leadroute.{what.record}.avsc",
    )
    if not record["id"]:
        raise InvalidLead("schema_violation", f"The {kind} event has an empty id; every record needs one.")
    if kind in ("contact", "lead") and record["kind"] != kind:
        raise InvalidLead(
            "schema_violation",
            f"A {record['kind']} was published to {CRM_TOPICS[kind]}; publish it to "
            f"{CRM_TOPICS.get(record['kind'], 'its own topic')} instead.",
        )
    return record
