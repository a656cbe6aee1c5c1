"""Bytes ↔ records for every topic, with errors that say what to fix.

Decoding happens inside the pipeline step rather than in a Quix deserializer:
a deserializer that raises would stop the stage or, with an error callback,
commit the offset and lose the record. Here a bad message becomes an
:class:`~processors.errors.InvalidLead` that the step dead-letters.

Ingest on ``leads.raw`` accepts three encodings:

* JSON (``content-type: application/json``, or no header and a body starting ``{``);
* plain Avro of ``RawLead`` marked by ``content-type: application/avro``;
* Avro in Confluent wire format (magic byte 0, schema id) when a Schema Registry
  URL is configured; the registry's writer schema is resolved to ``RawLead``.

Stage-to-stage topics carry schemaless Avro with the writer's schema fingerprint
in the ``leadroute-schema`` header; see ``schemas/README.md``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import IO, Any, cast

import fastavro

import schemas
from processors.errors import InvalidLead
from processors.intake import complete_raw_lead, parse_json, raw_lead_from_json
from processors.models import RawLead

CONTENT_TYPE = "content-type"
SCHEMA_HEADER = "leadroute-schema"
JSON_TYPES = {"application/json", "json", "text/json"}
AVRO_TYPES = {"application/avro", "avro/binary", "application/x-avro-binary", "avro"}
CONFLUENT_AVRO_TYPES = {"application/vnd.confluent.avro", "confluent-avro"}

HeaderList = list[tuple[str, bytes | None]]


def header_list(headers: Any) -> HeaderList:
    """Kafka headers in any of the shapes clients give them, as a list of pairs."""
    if not headers:
        return []
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, dict) else headers
    result: HeaderList = []
    for key, value in items:
        if isinstance(value, str):
            value = value.encode()
        result.append((str(key), value))
    return result


def header_value(headers: HeaderList, name: str) -> str | None:
    for key, value in reversed(headers):
        if key.lower() == name and value is not None:
            return value.decode("utf-8", "replace").strip()
    return None


Tagger = Callable[[Any], Any]


def _named_records(schema: Any, found: dict[str, Any]) -> None:
    """Every named record of a parsed schema, by full name (later uses are only the name)."""
    if isinstance(schema, list):
        for branch in schema:
            _named_records(branch, found)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            found.setdefault(schema["name"], schema)
            for spec in schema["fields"]:
                _named_records(spec["type"], found)
        elif kind == "array":
            _named_records(schema["items"], found)
        elif kind == "map":
            _named_records(schema["values"], found)
        elif isinstance(kind, dict | list):
            _named_records(kind, found)


def union_tagger(schema: Any) -> Tagger | None:
    """A function naming the branch of every ``[null, record]`` union a value of ``schema`` holds.

    fastavro picks a union's branch by validating the value against each
    candidate, and validation walks the whole nested record: a Lead's sections
    sit in such unions, and records nested in them in more, so writing a Lead
    validated most of it several times over (about half the encoding time).
    A branch given as ``(name, value)`` (fastavro's tuple notation) is written
    at once, to the same bytes. None: the schema has no such union.
    """
    named: dict[str, Any] = {}
    _named_records(schema, named)
    memo: dict[str, Tagger | None] = {}

    def for_type(kind: Any) -> Tagger | None:
        if isinstance(kind, str):
            return for_record(named[kind]) if kind in named else None
        if isinstance(kind, list):
            records = [
                b
                for b in kind
                if (isinstance(b, dict) and b.get("type") == "record") or (isinstance(b, str) and b in named)
            ]
            if len(records) != 1 or len(kind) != 2 or "null" not in kind:
                return None  # primitives (cheap to tell apart), or several records: left to fastavro
            record = named[records[0]] if isinstance(records[0], str) else records[0]
            name, inner = record["name"], for_record(record)
            if inner is None:
                return lambda value: None if value is None else (name, value)
            return lambda value: None if value is None else (name, inner(value))
        if not isinstance(kind, dict):
            return None
        if kind.get("type") == "record":
            return for_record(kind)
        if kind.get("type") == "array" and (item := for_type(kind["items"])) is not None:
            return lambda values: [item(v) for v in values]
        if kind.get("type") == "map" and (each := for_type(kind["values"])) is not None:
            return lambda values: {k: each(v) for k, v in values.items()}
        return None

    def for_record(record: Any) -> Tagger | None:
        name = record["name"]
        if name in memo:
            return memo[name]
        memo[name] = None  # a recursive reference while this one is built: written as it is
        taggers = [
            (spec["name"], t) for spec in record["fields"] if (t := for_type(spec["type"])) is not None
        ]
        if not taggers:
            return None

        def tag(value: Any) -> Any:
            if not isinstance(value, dict):
                return value  # let fastavro say what is wrong with it
            tagged = dict(value)
            for field_name, tagger in taggers:
                if tagged.get(field_name) is not None:
                    tagged[field_name] = tagger(tagged[field_name])
            return tagged

        memo[name] = tag
        return tag

    return for_type(schema)


def read_record(buffer: IO[bytes], schema: Any) -> dict[str, Any]:
    """One schemaless Avro record from ``buffer``, read with ``schema``."""
    # Every schema in schemas/ is a record, and fastavro reads a record as a dict.
    return cast(dict[str, Any], fastavro.schemaless_reader(buffer, schema))


class AvroCodec:
    """Schemaless Avro for one record of ``schemas/``."""

    def __init__(self, record: str) -> None:
        self.record = record
        self.schema = schemas.parsed(record)
        self.fingerprint = schemas.fingerprint(record)
        self.content_type = f"application/vnd.leadroute.{record.lower()}+avro"
        self._tag = union_tagger(self.schema)

    def encode(self, value: Any) -> bytes:
        buffer = io.BytesIO()
        if self._tag is not None:
            value = self._tag(value)
        fastavro.schemaless_writer(buffer, self.schema, value, strict_allow_default=True)
        return buffer.getvalue()

    def decode(self, data: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(data), self.schema)

    @property
    def headers(self) -> dict[str, str]:
        return {CONTENT_TYPE: self.content_type, SCHEMA_HEADER: self.fingerprint}


class LeadDecoder:
    """Reads the ``Lead`` records that stages pass to each other."""

    def __init__(self, codec: AvroCodec | None = None) -> None:
        self.codec = codec or AvroCodec("Lead")

    def readable(self, data: bytes | None, headers: HeaderList) -> bytes:
        """``data``, once it is known to be a Lead of this stage's schema version."""
        if data is None:
            raise InvalidLead("empty_message", "The message has no value; there is no lead to route.")
        written_with = header_value(headers, SCHEMA_HEADER)
        if written_with is not None and written_with != self.codec.fingerprint:
            raise InvalidLead(
                "schema_mismatch",
                f"The record was written with Lead schema {written_with}, this stage reads "
                f"{self.codec.fingerprint}. Run every stage at the same version, then replay "
                "this record from the dead-letter topic.",
            )
        return data

    def decode(self, data: bytes | None, headers: HeaderList) -> Any:
        data = self.readable(data, headers)
        try:
            return self.codec.decode(data)
        except Exception as error:  # noqa: BLE001 - any decode failure is the record's
            raise InvalidLead(
                "undecodable", f"The record is not a valid Lead in Avro ({type(error).__name__})."
            ) from None


class IngestDecoder:
    """Reads what upstream systems publish to ``leads.raw``."""

    def __init__(self, schema_registry_url: str | None = None, *, registry_client: Any = None) -> None:
        self.raw_codec = AvroCodec("RawLead")
        self._registry_deserializer: Any = None
        if schema_registry_url or registry_client is not None:
            from confluent_kafka.schema_registry import SchemaRegistryClient
            from confluent_kafka.schema_registry.avro import AvroDeserializer

            client = registry_client or SchemaRegistryClient.new_client({"url": schema_registry_url})
            reader = schemas.schema_path("RawLead").read_text(encoding="utf-8")
            self._registry_deserializer = AvroDeserializer(client, schema_str=reader)

    def decode(self, data: bytes | None, headers: HeaderList, topic: str) -> RawLead:
        if data is None or data == b"":
            raise InvalidLead(
                "empty_message",
                "The message has no value. Publish the lead itself as the message value.",
            )
        declared = (header_value(headers, CONTENT_TYPE) or "").split(";")[0].strip().lower()
        if declared in JSON_TYPES or (not declared and data.lstrip()[:1] in (b"{", b"[")):
            return self._json(data)
        if declared in AVRO_TYPES:
            return self._plain_avro(data)
        if declared in CONFLUENT_AVRO_TYPES or (not declared and data[:1] == b"\x00"):
            return self._confluent_avro(data, topic)
        if declared:
            raise InvalidLead(
                "unsupported_content_type",
                f"content-type {declared!r} is not read on leads.raw. Send application/json, "
                "application/avro (RawLead schema) or Confluent Avro with a Schema Registry.",
            )
        raise InvalidLead(
            "undecodable",
            "The message is neither JSON nor Avro (it starts with byte "
            f"0x{data[0]:02x}). Send the lead as a JSON object, or set a content-type header.",
        )

    def _json(self, data: bytes) -> RawLead:
        return raw_lead_from_json(parse_json(data))

    def _plain_avro(self, data: bytes) -> RawLead:
        """One whole RawLead record: bytes left over mean another schema wrote it."""
        buffer = io.BytesIO(data)
        try:
            decoded = read_record(buffer, self.raw_codec.schema)
        except UnicodeDecodeError:
            # Say what to fix: the record's shape is right, one of its strings is not text.
            raise InvalidLead(
                "undecodable",
                "The Avro RawLead has a string that is not valid UTF-8 text. Send every text field as UTF-8.",
            ) from None
        except Exception as error:  # noqa: BLE001
            raise InvalidLead(
                "undecodable",
                f"The message declares Avro but is not a RawLead record ({type(error).__name__}). "
                "Encode it with schemas/leadroute.RawLead.avsc.",
            ) from None
        if buffer.tell() != len(data):
            raise InvalidLead(
                "undecodable",
                f"The message declares Avro but has {len(data) - buffer.tell()} bytes after its RawLead "
                "record: it was written with another schema. Encode it with schemas/leadroute.RawLead.avsc.",
            )
        return complete_raw_lead(decoded)

    def _confluent_avro(self, data: bytes, topic: str) -> RawLead:
        if self._registry_deserializer is None:
            raise InvalidLead(
                "undecodable",
                "The message looks like Confluent-framed Avro but no Schema Registry is "
                "configured. Set LEADROUTE_SCHEMA_REGISTRY_URL, or send JSON.",
            )
        from confluent_kafka.serialization import MessageField, SerializationContext

        try:
            decoded = self._registry_deserializer(data, SerializationContext(topic, MessageField.VALUE))
        except Exception as error:  # noqa: BLE001
            raise InvalidLead(
                "undecodable",
                f"The Confluent Avro message could not be read: {type(error).__name__}: {str(error)[:200]}",
            ) from None
        if not isinstance(decoded, dict):
            raise InvalidLead("schema_violation", "The Avro message is not a record.")
        return complete_raw_lead(decoded)


def read_event(
    codec: AvroCodec, value: bytes, headers: HeaderList, *, event: str, topic: str, how: str
) -> Any:
    """One record of a change-event topic (CRM, owners), refusing anything untrustworthy.

    ``event`` names it in messages ("The account event"), ``topic`` is where it
    came from, ``how`` says how to publish it right ("publish it with leadroute
    crm load"). The headers must not claim another content type or schema
    version, the value must be exactly one ``codec`` record: a partial read would
    store half a record.
    """
    declared = (header_value(headers, CONTENT_TYPE) or "").split(";")[0].strip().lower()
    if declared and declared != codec.content_type:
        raise InvalidLead(
            "unsupported_content_type",
            f"{event} declares content-type {declared!r}; {topic} carries {codec.content_type} "
            f"(schemas/leadroute.{codec.record}.avsc). To fix it, {how}.",
        )
    written_with = header_value(headers, SCHEMA_HEADER)
    if written_with is not None and written_with != codec.fingerprint:
        raise InvalidLead(
            "schema_mismatch",
            f"{event} was written with {codec.record} schema {written_with}; this reader has "
            f"{codec.fingerprint}. Run the publisher and the reader at the same version.",
        )
    buffer = io.BytesIO(value)
    try:
        record = fastavro.schemaless_reader(buffer, codec.schema)
    except Exception as error:  # noqa: BLE001 - any decode failure is the event's fault
        raise InvalidLead(
            "undecodable",
            f"{event} is not an Avro {codec.record} record ({type(error).__name__}); {how}.",
        ) from None
    if buffer.tell() != len(value):
        raise InvalidLead(
            "undecodable",
            f"{event} has {len(value) - buffer.tell()} bytes after its {codec.record} record; "
            "it was encoded with another schema.",
        )
    return record
