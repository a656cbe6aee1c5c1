from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from processors.errors import InvalidLead
from processors.intake import raw_lead_from_json
from streams.serde import SCHEMA_HEADER, AvroCodec, IngestDecoder, LeadDecoder, header_list


def test_json_is_read_with_or_without_a_content_type() -> None:
    decoder = IngestDecoder()
    body = json.dumps({"email": "a@b.io"}).encode()
    assert decoder.decode(body, [], "leads.raw")["email"] == "a@b.io"
    assert (
        decoder.decode(body, [("Content-Type", b"application/json; charset=utf-8")], "leads.raw")["email"]
        == "a@b.io"
    )


def test_plain_avro_needs_its_header() -> None:
    raw = raw_lead_from_json({"email": "a@b.io", "country": "FR"})
    body = AvroCodec("RawLead").encode(raw)
    assert IngestDecoder().decode(body, [("content-type", b"application/avro")], "t")["country"] == "FR"


def test_confluent_avro_is_resolved_to_the_raw_lead_schema() -> None:
    client = SchemaRegistryClient.new_client({"url": "mock://serde-test"})
    writer = {
        "type": "record",
        "name": "RawLead",
        "namespace": "leadroute",
        "fields": [
            {"name": "email", "type": ["null", "string"], "default": None},
            {"name": "extra", "type": "int", "default": 0},
        ],
    }
    body = AvroSerializer(client, json.dumps(writer))(
        {"email": "x@y.io", "extra": 3}, SerializationContext("t", MessageField.VALUE)
    )
    raw = IngestDecoder(registry_client=client).decode(body, [], "t")
    assert raw["email"] == "x@y.io"
    assert raw["phone"] is None


@pytest.mark.parametrize(
    ("body", "headers", "code", "fragment"),
    [
        (None, [], "empty_message", "no value"),
        (b"", [], "empty_message", "no value"),
        (b"{not json", [], "undecodable", "not valid JSON"),
        (b"\xff\xfe{", [("content-type", b"application/json")], "undecodable", "UTF-8"),
        (b"\x89PNG", [], "undecodable", "neither JSON nor Avro"),
        (b"\x00\x00\x00\x00\x01abc", [], "undecodable", "no Schema Registry"),
        (b"\x02\x03", [("content-type", b"application/avro")], "undecodable", "RawLead"),
        (b"<x/>", [("content-type", b"text/xml")], "unsupported_content_type", "text/xml"),
        (b"[1]", [], "schema_violation", "JSON object"),
    ],
)
def test_bad_input_is_an_invalid_lead_with_a_reason(
    body: bytes | None, headers: list, code: str, fragment: str
) -> None:
    with pytest.raises(InvalidLead) as caught:
        IngestDecoder().decode(body, headers, "leads.raw")
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_lead_decoder_refuses_a_record_from_another_schema_version() -> None:
    with pytest.raises(InvalidLead) as caught:
        LeadDecoder().decode(b"\x00", [(SCHEMA_HEADER, b"0123456789abcdef")])
    assert caught.value.code == "schema_mismatch"


def test_headers_in_every_client_shape() -> None:
    assert header_list(None) == []
    assert header_list({"a": "b"}) == [("a", b"b")]
    assert header_list([("a", None), ("b", b"c")]) == [("a", None), ("b", b"c")]


def test_plain_avro_written_with_another_schema_is_undecodable() -> None:
    """A record of another schema can read as a RawLead prefix; the bytes left over give it away."""
    raw = AvroCodec("RawLead").encode(raw_lead_from_json({"email": "a@b.io"}))
    with pytest.raises(InvalidLead) as caught:
        IngestDecoder().decode(raw + b"\x02\x04extra", [("content-type", b"application/avro")], "t")
    assert caught.value.code == "undecodable"
    assert "another schema" in caught.value.message


def _avro_string(data: bytes) -> bytes:
    """Avro's string encoding (zig-zag varint length, then the bytes), for bytes no encoder writes."""
    length, prefix = len(data) * 2, bytearray()
    while length > 0x7F:
        prefix.append(length & 0x7F | 0x80)
        length >>= 7
    return bytes([*prefix, length]) + data


@pytest.mark.parametrize(
    ("company", "code", "fragment"),
    [
        (b"\xed\xa0\x80", "undecodable", "RawLead"),  # a surrogate encoded as UTF-8: not UTF-8
        (b"c" * 10_001, "schema_violation", "limit is 10000"),
    ],
)
def test_plain_avro_meets_the_same_limits_as_json(company: bytes, code: str, fragment: str) -> None:
    body = AvroCodec("RawLead").encode(raw_lead_from_json({"email": "a@b.io", "company": "XYZ"}))
    body = body.replace(b"\x06XYZ", _avro_string(company))
    with pytest.raises(InvalidLead) as caught:
        IngestDecoder().decode(body, [("content-type", b"application/avro")], "t")
    assert caught.value.code == code
    assert fragment in caught.value.message
