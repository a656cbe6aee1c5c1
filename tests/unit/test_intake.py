from __future__ import annotations

import pytest

from processors.errors import InvalidLead
from processors.intake import TEXT_FIELDS, raw_lead_from_json


def test_every_contract_field_is_present_and_unknown_fields_go_to_custom() -> None:
    raw = raw_lead_from_json({"email": "a@b.co", "utm_source": "google", "score": {"x": 1}})
    assert set(TEXT_FIELDS) <= set(raw)
    assert raw["email"] == "a@b.co"
    assert raw["custom"] == {"utm_source": "google", "score": '{"x": 1}'}


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("firstName", "first_name"),
        ("First Name", "first_name"),
        ("LastName", "last_name"),
        ("surname", "last_name"),
        ("Email Address", "email"),
        ("phone_number", "phone"),
        ("Company Name", "company"),
        ("jobTitle", "title"),
        ("zip", "postal_code"),
        ("Postcode", "postal_code"),
        ("NumberOfEmployees", "employees"),
        ("LeadSource", "source"),
        ("created_at", "submitted_at"),
        ("country-code", "country"),
        ("State/Province", "state"),
    ],
)
def test_common_field_spellings_are_recognised(key: str, field: str) -> None:
    assert raw_lead_from_json({key: "x", "email": "e@x.io"})[field] == "x"  # type: ignore[literal-required]


def test_numbers_and_booleans_become_text() -> None:
    raw = raw_lead_from_json(
        {"employees": 250, "phone": 4915112345678, "email": "a@b.c", "postal_code": 2000.5}
    )
    assert (raw["employees"], raw["phone"], raw["postal_code"]) == ("250", "4915112345678", "2000.5")


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("yes", True), ("opt-in", True), (0, False), ("no", False)]
)
def test_consent_flags_accept_the_usual_spellings(value: object, expected: bool) -> None:
    assert raw_lead_from_json({"email": "a@b.c", "consent": {"email": value}})["consent"] == {
        "email": expected
    }


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ([1, 2], "must be a JSON object"),
        ("lead", "must be a JSON object"),
        ({"email": {"work": "a@b.c"}}, "'email' must be text"),
        ({"email": ["a@b.c"]}, "'email' must be text"),
        ({"email": "a@b.c", "consent": {"email": "maybe"}}, "Consent flag 'email'"),
        ({"email": "a@b.c", "custom": "x"}, "'custom' must be an object"),
        ({"source": "web", "title": "CEO"}, "no email, phone, name or company"),
        ({"email": "   "}, "no email, phone, name or company"),
        ({"email": "x" * 10_001}, "limit is 10000"),
    ],
)
def test_what_cannot_be_a_lead_is_refused_with_a_reason(document: object, fragment: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        raw_lead_from_json(document)
    assert caught.value.code == "schema_violation"
    assert fragment in caught.value.message


def test_a_known_field_wins_over_a_later_alias() -> None:
    raw = raw_lead_from_json({"email": "first@x.io", "Email Address": "second@x.io"})
    assert raw["email"] == "first@x.io"
    assert raw["custom"] == {"Email Address": "second@x.io"}


def test_unknown_dead_letter_codes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        InvalidLead("made_up", "x")
