"""Whole-lead behaviour: flags, round trips, lead ids and isolation from the network."""

from __future__ import annotations

import copy
import socket
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.models import NormalizedSection, RawLead
from processors.normalize import (
    FLAGS,
    UNUSABLE,
    lead_id_for,
    normalize_lead,
    raw_from_normalized,
)

MESSY: RawLead = {
    "lead_id": None,
    "source": "Web Form",
    "submitted_at": "2026-11-24 13:05:00",
    "first_name": "  JOHN ",
    "last_name": "MCDONALD",
    "email": " John.Doe+news@GoogleMail.com ",
    "phone": "020 7946 0958 ext 12",
    "company": "ACME HOLDINGS LTD",
    "title": "VP OF SALES",
    "website": "http://WWW.Acme.co.uk/about",
    "country": "U.K.",
    "state": "England",
    "postal_code": "sw1a 1aa",
    "employees": "51-200",
    "industry": "  Software ",
    "custom": {"utm_campaign": "q4"},
    "consent": {"email": True},
}

EXPECTED: NormalizedSection = {
    "first_name": "John",
    "last_name": "McDonald",
    "full_name": "John McDonald",
    "title": "VP of Sales",
    "email": "john.doe+news@googlemail.com",
    "email_valid": True,
    "email_match_key": "johndoe@gmail.com",
    "email_host": "googlemail.com",
    "email_domain": "googlemail.com",
    "phone_e164": "+442079460958",
    "phone_extension": "12",
    "phone_raw": None,
    "phone_valid": True,
    "phone_region": "GB",
    "country_code": "GB",
    "state_code": "GB-ENG",
    "postal_code": "SW1A 1AA",
    "company_name": "ACME Holdings Ltd",
    "company_match_key": "acme holdings",
    "website": "www.acme.co.uk",
    "website_domain": "acme.co.uk",
    "employees_min": 51,
    "employees_max": 200,
    "industry": "Software",
    "source": "web",
    "submitted_at": "2026-11-24T13:05:00.000Z",
    "flags": [],
}

ALL_BAD: RawLead = {
    "source": "carrier pigeon",
    "submitted_at": "last tuesday",
    "email": "not-an-email",
    "phone": "12345",
    "website": "not a website",
    "country": "Narnia",
    "state": "Cair Paravel",
    "employees": "lots",
}


def test_a_messy_lead_normalizes_completely() -> None:
    assert normalize_lead(MESSY) == EXPECTED


def test_the_input_is_not_modified() -> None:
    raw = copy.deepcopy(MESSY)
    normalize_lead(raw)
    assert raw == MESSY


def test_an_empty_lead_is_all_missing_flags() -> None:
    result = normalize_lead({})
    assert result["source"] == "other"
    assert result["flags"] == [
        "company_missing",
        "email_missing",
        "name_missing",
        "phone_missing",
        "source_missing",
        "submitted_at_missing",
    ]


def test_every_problem_is_flagged_once_and_sorted() -> None:
    result = normalize_lead(ALL_BAD)
    assert result["flags"] == [
        "company_missing",
        "country_unknown",
        "email_invalid",
        "employees_invalid",
        "name_missing",
        "phone_invalid",
        "source_unknown",
        "state_unknown",
        "submitted_at_invalid",
        "website_invalid",
    ]
    assert set(result["flags"]) <= FLAGS
    assert result["phone_raw"] == "12345"


@pytest.mark.parametrize("raw", [MESSY, ALL_BAD, {}, {"state": "US-CA", "phone": "(415) 555-2671"}])
def test_round_trip_keeps_everything_including_flags(raw: RawLead) -> None:
    once = normalize_lead(raw)
    assert normalize_lead(raw_from_normalized(once)) == once


def test_raw_from_normalized_uses_the_documented_shapes() -> None:
    raw = raw_from_normalized(EXPECTED)
    assert raw["phone"] == "+442079460958 ext. 12"
    assert raw["country"] == "GB"
    assert raw["state"] == "GB-ENG"
    assert raw["employees"] == "51-200"
    assert raw["submitted_at"] == "2026-11-24T13:05:00.000Z"
    assert raw_from_normalized(normalize_lead({"employees": ">5000"}))["employees"] == "5001+"
    assert raw_from_normalized(normalize_lead({"employees": "250"}))["employees"] == "250"


def test_unusable_fields_come_back_as_the_placeholder() -> None:
    raw = raw_from_normalized(normalize_lead(ALL_BAD))
    assert raw["email"] == raw["website"] == raw["country"] == UNUSABLE
    assert raw["state"] == raw["employees"] == raw["submitted_at"] == raw["source"] == UNUSABLE
    assert raw["phone"] == "12345"


@pytest.mark.parametrize("value", [250, 3.0, True, ["x"], {"a": 1}, b"bytes"])
def test_non_text_values_never_raise(value: object) -> None:
    raw = {field: value for field in MESSY if field not in ("custom", "consent")}
    normalize_lead(raw)  # type: ignore[arg-type]
    lead_id_for(raw)  # type: ignore[arg-type]


def test_numbers_from_loose_json_are_read_as_text() -> None:
    loose: dict[str, object] = {"employees": 250}
    assert normalize_lead(loose)["employees_min"] == 250  # type: ignore[arg-type]


def test_a_given_lead_id_is_kept_trimmed() -> None:
    assert lead_id_for({**MESSY, "lead_id": "  crm-00042 "}) == "crm-00042"


@pytest.mark.parametrize("lead_id", [None, "", "   "])
def test_a_missing_lead_id_is_derived_from_the_content(lead_id: str | None) -> None:
    derived = lead_id_for({**MESSY, "lead_id": lead_id})
    assert derived.startswith("lr_")
    assert len(derived) == 3 + 24
    assert all(ch in "0123456789abcdef" for ch in derived[3:])


def test_identical_resubmissions_get_the_same_id() -> None:
    first = lead_id_for(copy.deepcopy(MESSY))
    reordered = dict(reversed(list(copy.deepcopy(MESSY).items())))
    assert lead_id_for(reordered) == first  # type: ignore[arg-type]
    assert lead_id_for({**MESSY, "lead_id": ""}) == first
    assert lead_id_for({**MESSY, "industry": None, "title": "VP OF SALES"}) == lead_id_for(
        {k: v for k, v in MESSY.items() if k != "industry"}  # type: ignore[misc]
    )


def test_different_leads_get_different_ids() -> None:
    assert lead_id_for({**MESSY, "email": "other@acme.co.uk"}) != lead_id_for(MESSY)
    assert lead_id_for({**MESSY, "custom": {"utm_campaign": "q1"}}) != lead_id_for(MESSY)


def test_domain_lookups_use_only_the_bundled_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from processors.normalize import domains

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("normalization must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path))
    domains._extractor.cache_clear()
    domains.registrable_domain.cache_clear()
    try:
        assert domains.registrable_domain("www.example-snapshot-check.co.uk") == (
            "example-snapshot-check.co.uk"
        )
        assert domains._extractor().suffix_list_urls == ()
    finally:
        domains._extractor.cache_clear()
        domains.registrable_domain.cache_clear()
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abcxyzKLM019-._", min_size=1, max_size=40)
    | st.sampled_from(["acme.com", "WWW.ACME.CO.UK", "a.b", "x.local", "a--b.com", "1.2.3.4"])
)
def test_the_plain_ascii_host_fast_path_agrees_with_email_validator(host: str) -> None:
    from processors.normalize import domains

    try:
        expected: str | None = validate_email("website@" + host, check_deliverability=False).domain.lower()
    except EmailNotValidError:
        expected = None
    assert domains.canonical_host.__wrapped__(host) == expected


def test_the_normalize_stage_drops_custom_fields_over_the_cap_and_keeps_the_senders_id() -> None:
    from processors.intake import raw_lead_from_json
    from processors.pipeline import normalize_stage
    from processors.ports import FrozenClock

    clock = FrozenClock(1_800_000_000_000)
    raw = raw_lead_from_json({"email": "a@b.io", "utm": "spring", "notes": "n" * 500})
    capped = normalize_stage(raw, received_at_ms=1, clock=clock, max_custom_bytes=100)
    whole = normalize_stage(raw, received_at_ms=1, clock=clock, max_custom_bytes=1_000)
    assert capped["raw"]["custom"] == {"utm": "spring"}
    assert "custom_truncated" in capped["normalized"]["flags"]  # type: ignore[index]
    assert whole["raw"]["custom"] == raw["custom"]
    assert "custom_truncated" not in whole["normalized"]["flags"]  # type: ignore[index]
    assert capped["lead_id"] == whole["lead_id"]
    assert raw["custom"]["notes"] == "n" * 500  # the caller's raw lead is not changed
