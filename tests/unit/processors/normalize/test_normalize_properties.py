"""Properties of normalize_lead over arbitrary input: total, deterministic, idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.intake import TEXT_FIELDS
from processors.models import SOURCES
from processors.normalize import FLAGS, lead_id_for, normalize_lead, raw_from_normalized

#: Realistic messy values per field, mixed with arbitrary text so that the
#: valid paths (not only the rejection paths) are exercised by the properties.
SAMPLES: dict[str, list[str]] = {
    "source": ["Web Form", "trade show list", "Webinar", "LIVE CHAT", "other", "Facebook"],
    "submitted_at": [
        "2026-11-24 13:05:00",
        "2026-11-24T14:05:00.123456+01:00",
        "1795957500",
        "1795957500123",
        "Tue, 24 Nov 2026 13:05:00 +0000",
        "24/11/2026",
    ],
    "first_name": ["JOHN", "jean-luc", "José", "ИВАН", "  mary  ann ", "d'artagnan"],
    "last_name": ["MCDONALD", "van der berg", "O'NEIL", "DeAndre", "山田", "MACLEOD"],
    "email": [
        " John.Doe+promo@GoogleMail.com ",
        "josé@bücher.de",
        "user@xn--bcher-kva.de",
        "bad@",
        "mailto:Sales@Acme.io",
    ],
    "phone": [
        "+44 (0)20 7946 0958",
        "020 7946 0958",
        "1-800-FLOWERS",
        "0044 20 7946 0958 ext. 12",
        "(415) 555-2671 x123",
        "12345",
    ],
    "company": ["ACME HOLDINGS LTD", "acme, inc.", "IBM", "The Coca-Cola Company", "N/A"],
    "title": ["VP OF SALES", "head of it", "CEO", "  Senior  Engineer "],
    "website": ["http://WWW.Acme.com/about", "bücher.de", "localhost", "acme.github.io"],
    "country": ["UK", "Deutschland", "United States of America", "日本", "Narnia", "us"],
    "state": ["California", "CA", "US-CA", "Bavaria", "England", "CA-ON", "Nowhere"],
    "postal_code": ["sw1a 1aa", "94103-1234", " 10115 "],
    "employees": ["51-200", "10k", "1.000", ">5000", "<10", "lots", "10,001+"],
    "industry": ["  Software   & IT ", "Retail"],
    "lead_id": ["  abc-123 ", ""],
}


def _field(name: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.text(), st.sampled_from(SAMPLES[name]))


raw_leads = st.fixed_dictionaries({}, optional={name: _field(name) for name in TEXT_FIELDS})
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(raw_leads)
def test_never_raises_and_returns_a_well_formed_section(raw: dict[str, str | None]) -> None:
    normalized = normalize_lead(raw)  # type: ignore[arg-type]
    assert normalized["source"] in SOURCES
    assert normalized["flags"] == sorted(set(normalized["flags"]))
    assert set(normalized["flags"]) <= FLAGS
    assert isinstance(normalized["email_valid"], bool)
    assert isinstance(normalized["phone_valid"], bool)
    assert normalized["email_valid"] == (normalized["email"] is not None)
    assert normalized["phone_valid"] == (normalized["phone_e164"] is not None)
    if normalized["employees_max"] is not None:
        assert normalized["employees_min"] is not None
        assert normalized["employees_min"] <= normalized["employees_max"]


@PROPERTY_SETTINGS
@given(st.dictionaries(st.sampled_from(TEXT_FIELDS), st.text(max_size=30) | st.none()))
def test_never_raises_on_arbitrary_text_alone(raw: dict[str, str | None]) -> None:
    normalize_lead(raw)  # type: ignore[arg-type]
    lead_id_for(raw)  # type: ignore[arg-type]


@PROPERTY_SETTINGS
@given(raw_leads)
def test_is_deterministic(raw: dict[str, str | None]) -> None:
    assert normalize_lead(dict(raw)) == normalize_lead(dict(raw))  # type: ignore[arg-type]


@PROPERTY_SETTINGS
@given(raw_leads)
def test_is_idempotent_through_raw_from_normalized(raw: dict[str, str | None]) -> None:
    once = normalize_lead(raw)  # type: ignore[arg-type]
    twice = normalize_lead(raw_from_normalized(once))
    assert twice == once


@PROPERTY_SETTINGS
@given(raw_leads)
def test_lead_id_is_deterministic_and_kept_when_given(raw: dict[str, str | None]) -> None:
    first = lead_id_for(raw)  # type: ignore[arg-type]
    assert first == lead_id_for(dict(raw))  # type: ignore[arg-type]
    given_id = (raw.get("lead_id") or "").strip()
    if given_id:
        assert first == given_id
    else:
        assert first.startswith("lr_")
        assert len(first) == 27
