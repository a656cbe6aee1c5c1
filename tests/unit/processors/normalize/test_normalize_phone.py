"""Phone normalization: national and international formats from many countries."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phone", "country", "e164", "extension", "region"),
    [
        # United Kingdom
        ("+44 (0)20 7946 0958", None, "+442079460958", None, "GB"),
        ("020 7946 0958", "UK", "+442079460958", None, "GB"),
        ("0044 20 7946 0958", None, "+442079460958", None, "GB"),
        ("00 44 20 7946 0958", "United States", "+442079460958", None, "GB"),
        ("+44 7400 123456 ext. 45", "Germany", "+447400123456", "45", "GB"),
        ("07400-123-456", "GB", "+447400123456", None, "GB"),
        # Germany
        ("030 1234567", "Deutschland", "+49301234567", None, "DE"),
        ("+49 (0)30 123456", None, "+4930123456", None, "DE"),
        ("0171 1234567", "DE", "+491711234567", None, "DE"),
        ("0049 89 123456-78", None, "+498912345678", None, "DE"),
        # France
        ("+33 1 42 68 53 00", None, "+33142685300", None, "FR"),
        ("01.42.68.53.00", "France", "+33142685300", None, "FR"),
        ("06 12 34 56 78", "FR", "+33612345678", None, "FR"),
        # India
        ("+91 98765 43210", None, "+919876543210", None, "IN"),
        ("098765 43210", "India", "+919876543210", None, "IN"),
        ("022 2345 6789", "IN", "+912223456789", None, "IN"),
        # Brazil
        ("+55 11 98765-4321", None, "+5511987654321", None, "BR"),
        ("(11) 98765-4321", "Brasil", "+5511987654321", None, "BR"),
        # Japan
        ("03-1234-5678", "Japan", "+81312345678", None, "JP"),
        ("+81 3-1234-5678", None, "+81312345678", None, "JP"),
        ("090-1234-5678", "日本", "+819012345678", None, "JP"),
        # Australia
        ("(02) 9374 4000", "Australia", "+61293744000", None, "AU"),
        ("0412 345 678", "AU", "+61412345678", None, "AU"),
        ("+61 2 9374 4000", None, "+61293744000", None, "AU"),
        # United States and Canada: extensions, vanity numbers, prefixes
        ("(415) 555-2671 ext. 45", "US", "+14155552671", "45", "US"),
        ("1-800-356-9377 x123", "USA", "+18003569377", "123", "US"),
        ("+1 415 555 2671 #12", None, "+14155552671", "12", "US"),
        ("1-800-FLOWERS", "US", "+18003569377", None, "US"),
        ("+1 800 FLOWERS", None, "+18003569377", None, "US"),
        ("tel:+1-415-555-2671", None, "+14155552671", None, "US"),
        ("415.555.2671", "United States of America", "+14155552671", None, "US"),
        ("+1 (416) 555-0199", None, "+14165550199", None, "CA"),
        ("(416) 555-0199 extension 7", "Canada", "+14165550199", "7", "CA"),
        ("011 44 20 7946 0958", "US", "+442079460958", None, "GB"),
    ],
)
def test_valid_phones(phone: str, country: str | None, e164: str, extension: str | None, region: str) -> None:
    result = norm(phone=phone, country=country)
    assert result["phone_e164"] == e164
    assert result["phone_extension"] == extension
    assert result["phone_region"] == region
    assert result["phone_valid"] is True
    assert result["phone_raw"] is None
    assert "phone_invalid" not in result["flags"]


@pytest.mark.parametrize(
    ("phone", "country", "kept"),
    [
        ("020 7946 0958", None, "020 7946 0958"),  # national format, no country given
        ("44 20 7946 0958", None, "44 20 7946 0958"),  # no "+" or "00" and no country
        ("  12345 ", "US", "12345"),
        ("555-1234", "US", "555-1234"),  # possible length, but not a valid number
        ("+1 555 555 5555", None, "+1 555 555 5555"),
        ("call me maybe", "GB", "call me maybe"),
        ("+44 20 7946 09581234", None, "+44 20 7946 09581234"),
        ("0000000000", "DE", "0000000000"),
        ("+999 123 456", None, "+999 123 456"),
        ("1" * 300, "US", "1" * 300),
    ],
)
def test_invalid_phones_are_kept_raw_and_flagged(phone: str, country: str | None, kept: str) -> None:
    result = norm(phone=phone, country=country)
    assert result["phone_e164"] is None
    assert result["phone_extension"] is None
    assert result["phone_region"] is None
    assert result["phone_valid"] is False
    assert result["phone_raw"] == kept
    assert "phone_invalid" in result["flags"]


@pytest.mark.parametrize("phone", [None, "", "   ", "n/a", "-"])
def test_missing_phones_are_flagged_missing(phone: str | None) -> None:
    result = norm(phone=phone)
    assert result["phone_raw"] is None
    assert result["flags"].count("phone_missing") == 1
    assert "phone_invalid" not in result["flags"]


def test_country_from_a_full_state_code_is_the_default_region() -> None:
    result = norm(phone="(415) 555-2671", state="US-CA")
    assert result["country_code"] == "US"
    assert result["phone_e164"] == "+14155552671"
