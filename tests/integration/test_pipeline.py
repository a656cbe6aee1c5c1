"""The five stages on a real broker and Redis: every lead ends in exactly one place."""

from __future__ import annotations

import io
import json
import uuid

import fastavro
import fastavro.schema
import fastavro.validation
import pytest

import schemas
from streams.serde import AvroCodec
from tests.integration.conftest import PipelineProbe

pytestmark = pytest.mark.integration


def _lead(**fields: object) -> dict[str, object]:
    lead_id = f"it-{uuid.uuid4().hex[:12]}"
    return {"lead_id": lead_id, "email": f"{lead_id}@Example.COM ", "source": "Web Form", **fields}


def test_json_leads_are_each_assigned_exactly_once_with_normalized_section(probe: PipelineProbe) -> None:
    leads = [
        _lead(country=country, phone=phone)
        for country, phone in (
            ("UK", "+44 20 7946 0958"),
            ("Deutschland", "030 901820"),
            ("USA", "(415) 555-2671 x12"),
        )
    ] + [_lead(company=f"Acme {n} Inc.") for n in range(7)]
    for lead in leads:
        probe.publish(
            json.dumps(lead).encode(),
            key=str(lead["lead_id"]).encode(),
            headers=[("content-type", b"application/json")],
        )
    ids = {str(lead["lead_id"]) for lead in leads}
    probe.wait_for(lambda: all(probe.assigned_for(i) for i in ids))
    probe.poll(1.0)  # anything duplicated would arrive now
    schema_from_file = fastavro.schema.load_schema("schemas/leadroute.Assignment.avsc")
    for lead_id in ids:
        events = probe.assigned_for(lead_id)
        assert len(events) == 1, f"{lead_id} was assigned {len(events)} times"
        event = events[0]
        assert fastavro.validation.validate(event, schema_from_file)
        normalized = event["lead"]["normalized"]
        assert normalized is not None
        assert normalized["email"] == f"{lead_id}@example.com"
        assert [entry["stage"] for entry in event["lead"]["trace"]] == [
            "normalize",
            "enrich",
            "match",
            "segment",
            "assign",
        ]
        assert event["destination_type"] == "queue"
        assert event["replayed"] is False
    uk = next(
        e
        for e in (probe.assigned_for(str(lead["lead_id"]))[0] for lead in leads)
        if e["lead"]["raw"]["country"] == "UK"
    )
    assert uk["lead"]["normalized"]["country_code"] == "GB"
    assert uk["lead"]["normalized"]["phone_e164"] == "+442079460958"


def test_plain_avro_with_content_type_header_is_read(probe: PipelineProbe) -> None:
    lead = _lead(company="Avro GmbH", country="DE")
    raw = {
        **{
            f: None
            for f in (
                "submitted_at",
                "first_name",
                "last_name",
                "phone",
                "title",
                "website",
                "state",
                "postal_code",
                "employees",
                "industry",
            )
        },
        **lead,
        "custom": {},
        "consent": {"email": True},
    }
    probe.publish(AvroCodec("RawLead").encode(raw), headers=[("content-type", b"application/avro")])
    probe.wait_for(lambda: probe.assigned_for(str(lead["lead_id"])))
    event = probe.assigned_for(str(lead["lead_id"]))[0]
    assert event["lead"]["raw"]["consent"] == {"email": True}
    assert event["lead"]["normalized"]["country_code"] == "DE"


def test_bad_messages_go_to_the_dlq_and_the_stages_keep_running(probe: PipelineProbe) -> None:
    garbage_at = probe.publish(b"\x89PNG\r\n\x1a\n not a lead", headers=[("trace-id", b"abc123")])
    violation_at = probe.publish(json.dumps({"lead_id": "x", "email": {"nested": True}}).encode())
    unreachable_at = probe.publish(json.dumps({"source": "web", "title": "CEO"}).encode())
    wrong_type_at = probe.publish(b"<lead/>", headers=[("content-type", b"application/xml")])
    after = _lead()
    probe.publish(json.dumps(after).encode())
    probe.wait_for(
        lambda: (
            probe.assigned_for(str(after["lead_id"]))
            and all(
                probe.dead_at(*where) for where in (garbage_at, violation_at, unreachable_at, wrong_type_at)
            )
        )
    )
    (garbage,) = probe.dead_at(*garbage_at)
    assert garbage["stage"] == "normalize"
    assert garbage["error_code"] == "undecodable"
    assert "neither JSON nor Avro" in garbage["message"]
    assert garbage["original_value"] == b"\x89PNG\r\n\x1a\n not a lead"
    assert {"key": "trace-id", "value": b"abc123"} in garbage["original_headers"]
    assert garbage["topic"] == probe.topic("leads.raw")
    (violation,) = probe.dead_at(*violation_at)
    assert violation["error_code"] == "schema_violation"
    assert "'email' must be text" in violation["message"]
    assert probe.dead_at(*unreachable_at)[0]["error_code"] == "schema_violation"
    assert probe.dead_at(*wrong_type_at)[0]["error_code"] == "unsupported_content_type"


def test_a_replayed_lead_keeps_its_first_decision(probe: PipelineProbe) -> None:
    lead = _lead()
    for _ in range(2):
        probe.publish(json.dumps(lead).encode())
    probe.wait_for(lambda: len(probe.assigned_for(str(lead["lead_id"]))) == 2)
    first, second = sorted(probe.assigned_for(str(lead["lead_id"])), key=lambda e: e["replayed"])
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["assignment_id"] == first["assignment_id"]
    assert second["decided_at_ms"] == first["decided_at_ms"]
    assert second["destination"] == first["destination"]


def test_assignment_events_decode_with_fastavro_and_the_schema_file(probe: PipelineProbe) -> None:
    lead = _lead()
    probe.publish(json.dumps(lead).encode())
    probe.wait_for(lambda: probe.assigned_for(str(lead["lead_id"])))
    message = next(m for m, r in probe.outcomes.assigned if r["lead_id"] == lead["lead_id"])
    decoded = fastavro.schemaless_reader(
        io.BytesIO(message.value()), fastavro.schema.load_schema("schemas/leadroute.Assignment.avsc")
    )
    assert decoded["lead_id"] == lead["lead_id"]
    headers = dict(message.headers())
    assert headers["content-type"] == b"application/vnd.leadroute.assignment+avro"
    assert headers["leadroute-schema"] == schemas.fingerprint("Assignment").encode()
    assert message.key() == str(lead["lead_id"]).encode()
