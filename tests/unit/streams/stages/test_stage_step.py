"""The stage step without a broker: output, dead-letter and dependency failures."""

from __future__ import annotations

import json

import pytest

from processors.errors import DependencyUnavailable
from processors.owners.memory import StaticOwners
from processors.ports import FrozenClock
from processors.routing.memory_ledger import InMemoryLedger
from streams.dlq import DEAD_LETTER
from streams.routing.rules_source import RulesSource, default_rules
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages import assign, enrich, normalize
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import OUTPUT, Message

CLOCK = FrozenClock(1_800_000_000_000)
SETTINGS = Settings.from_env({})


def _message(value: bytes | None, headers: list | None = None, offset: int = 7) -> Message:
    return Message(
        value=value,
        key=b"k",
        headers=headers or [],
        topic="leads.raw",
        partition=1,
        offset=offset,
        timestamp_ms=1_799_999_999_000,
    )


def test_a_lead_comes_out_encoded_and_keyed_by_its_id() -> None:
    step = normalize.build_step(SETTINGS, CLOCK)
    routed = step(_message(json.dumps({"lead_id": "L1", "email": "A@B.io"}).encode()))
    assert (routed.destination, routed.key) == (OUTPUT, b"L1")
    lead = AvroCodec("Lead").decode(routed.value)
    assert lead["received_at_ms"] == 1_799_999_999_000
    assert lead["trace"] == [{"stage": "normalize", "at_ms": CLOCK.now_ms()}]


def test_garbage_becomes_a_dead_letter_with_the_original_message() -> None:
    step = normalize.build_step(SETTINGS, CLOCK)
    routed = step(_message(b"\x01\x02garbage", headers=[("x-trace", b"t1")]))
    assert routed.destination == DLQ_ROUTE
    assert routed.key == b"k"
    letter = DEAD_LETTER.decode(routed.value)
    assert letter["error_code"] == "undecodable"
    assert letter["original_value"] == b"\x01\x02garbage"
    assert letter["original_headers"] == [{"key": "x-trace", "value": b"t1"}]
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("leads.raw", 1, 7)
    assert letter["failed_at_ms"] == CLOCK.now_ms()


@pytest.mark.parametrize(
    ("document", "lead_id"),
    [
        ({"lead_id": "L9", "email": {"nested": True}}, "L9"),  # a field of the wrong kind
        ({"lead_id": " L9 ", "notes": "no way to reach anyone"}, "L9"),  # nobody to contact
        ({"lead_id": "L9", "company": "x" * 20_000}, "L9"),  # a value over the limit
        ({"lead_id": 42, "email": {"nested": True}}, None),  # not a text id: not carried
        ({"lead_id": "x" * 500, "email": {"nested": True}}, None),  # too long to be an id
        ([{"lead_id": "L9"}], None),  # not a lead at all
    ],
)
def test_a_refused_lead_is_dead_lettered_with_the_id_it_named(document: object, lead_id: str | None) -> None:
    routed = normalize.build_step(SETTINGS, CLOCK)(_message(json.dumps(document).encode()))
    letter = DEAD_LETTER.decode(routed.value)
    assert (routed.destination, letter["error_code"], letter["lead_id"]) == (
        DLQ_ROUTE,
        "schema_violation",
        lead_id,
    )


def test_a_processor_crash_is_dead_lettered_with_the_lead_id(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(lead: object, **_: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(enrich, "enrich_stage", explode)
    lead_bytes = normalize.build_step(SETTINGS, CLOCK)(
        _message(json.dumps({"lead_id": "L2", "email": "a@b.io"}).encode())
    ).value
    routed = enrich.build_step(SETTINGS, CLOCK)(_message(lead_bytes))
    letter = DEAD_LETTER.decode(routed.value)
    assert (letter["stage"], letter["error_code"], letter["lead_id"]) == ("enrich", "processing_error", "L2")
    assert "KeyError" in letter["message"]


class DownLedger:
    def first_leads(self, leads: object, now_ms: int) -> list:
        raise DependencyUnavailable("Redis is unreachable")

    def assign_many(self, requests: object) -> list:
        raise DependencyUnavailable("Redis is unreachable")


def _assign_step(ledger: object) -> object:
    rules = RulesSource(None, fallback=default_rules("inbound-triage", "sales"))
    return assign.build_step(SETTINGS, CLOCK, ledger=ledger, owners=StaticOwners(), rules=rules)  # type: ignore[arg-type]


def test_a_dependency_outage_stops_the_stage_instead_of_dead_lettering() -> None:
    lead_bytes = normalize.build_step(SETTINGS, CLOCK)(
        _message(json.dumps({"lead_id": "L3", "email": "a@b.io"}).encode())
    ).value
    step = _assign_step(DownLedger())
    with pytest.raises(DependencyUnavailable):
        step([_message(lead_bytes)])  # type: ignore[operator]


def test_the_assign_step_emits_a_valid_assignment_event() -> None:
    lead_bytes = normalize.build_step(SETTINGS, CLOCK)(
        _message(json.dumps({"lead_id": "L4", "email": "a@b.io"}).encode())
    ).value
    [routed] = _assign_step(InMemoryLedger())([_message(lead_bytes)])  # type: ignore[operator]
    event = AvroCodec("Assignment").decode(routed.value)
    assert (event["destination_type"], event["destination"], event["channel"]) == (
        "queue",
        "inbound-triage",
        "sales",
    )
    assert event["rules_version"].startswith("rules@")
    assert routed.also_to == ("leads.assigned.sales",)


def test_the_enrich_step_counts_filled_fields_by_source_and_conflicts() -> None:
    from streams import metrics

    def sample(name: str, labels: dict[str, str] | None = None) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0

    lead_bytes = normalize.build_step(SETTINGS, CLOCK)(
        _message(
            json.dumps(
                {"lead_id": "E1", "email": "a@acme.io", "country": "US", "phone": "+4930123456"}
            ).encode()
        )
    ).value
    before = (
        sample("leadroute_enriched_leads_total"),
        sample("leadroute_enriched_fields_total", {"field": "country_code", "source": "explicit"}),
        sample("leadroute_enriched_fields_total", {"field": "company_domain", "source": "email_domain"}),
        sample("leadroute_enrichment_conflicts_total", {"field": "country_code"}),
    )
    routed = enrich.build_step(SETTINGS, CLOCK)(_message(lead_bytes))
    assert routed.destination == OUTPUT
    assert AvroCodec("Lead").decode(routed.value)["enrichment"]["phone_country_code"] == "DE"
    after = (
        sample("leadroute_enriched_leads_total"),
        sample("leadroute_enriched_fields_total", {"field": "country_code", "source": "explicit"}),
        sample("leadroute_enriched_fields_total", {"field": "company_domain", "source": "email_domain"}),
        sample("leadroute_enrichment_conflicts_total", {"field": "country_code"}),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]


def test_the_normalize_step_caps_custom_fields_from_the_settings_and_flags_the_lead() -> None:
    body = json.dumps(
        {"lead_id": "C1", "email": "a@b.io", "utm": "spring", "notes": "n" * 900_000, "after": "kept"}
    ).encode()
    for settings, kept in (
        (SETTINGS, {"utm": "spring", "after": "kept"}),
        (Settings.from_env({"LEADROUTE_MAX_CUSTOM_BYTES": "9"}), {"utm": "spring"}),
    ):
        routed = normalize.build_step(settings, CLOCK)(_message(body))
        assert routed.destination == OUTPUT
        assert len(routed.value) < 1_000
        lead = AvroCodec("Lead").decode(routed.value)
        assert lead["raw"]["custom"] == kept
        assert "custom_truncated" in lead["normalized"]["flags"]


def test_a_lead_within_the_custom_cap_is_not_flagged() -> None:
    body = json.dumps({"lead_id": "C2", "email": "a@b.io", "notes": "n" * 16_000}).encode()
    lead = AvroCodec("Lead").decode(normalize.build_step(SETTINGS, CLOCK)(_message(body)).value)
    assert lead["raw"]["custom"] == {"notes": "n" * 16_000}
    assert "custom_truncated" not in lead["normalized"]["flags"]


def test_a_dead_letter_always_encodes_even_with_a_surrogate_in_the_lead_id() -> None:
    from processors.errors import InvalidLead
    from streams.stages.base import dead_letter

    problem = InvalidLead("processing_error", "Lead '\udc80' failed.")
    routed = dead_letter(
        "normalize", _message(b"{}", headers=[("h\udc80", b"v")]), problem, CLOCK, "id-\ud800"
    )
    letter = DEAD_LETTER.decode(routed.value)
    assert (letter["lead_id"], letter["message"]) == ("id-?", "Lead '?' failed.")
    assert letter["original_headers"] == [{"key": "h?", "value": b"v"}]
