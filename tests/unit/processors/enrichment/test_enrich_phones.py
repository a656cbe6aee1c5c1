"""Phone numbers → country, state, locality, time zones and line type."""

from __future__ import annotations

import pytest

from processors.enrichment.phones import phone_facts, reparse_national

# (E.164, country, line type, time zone or None when the number allows several)
COUNTRIES = [
    ("+442079460958", "GB", "fixed_line", "Europe/London"),
    ("+441615550123", "GB", "fixed_line", "Europe/London"),
    ("+4930123456", "DE", "fixed_line", "Europe/Berlin"),
    ("+4915112345678", "DE", "mobile", "Europe/Berlin"),
    ("+33142685300", "FR", "fixed_line", "Europe/Paris"),
    ("+61291234567", "AU", "fixed_line", "Australia/Sydney"),
    ("+61412345678", "AU", "mobile", None),
    ("+81312345678", "JP", "fixed_line", "Asia/Tokyo"),
    ("+5511987654321", "BR", "mobile", "America/Sao_Paulo"),
    ("+919876543210", "IN", "mobile", "Asia/Calcutta"),
    ("+8613800138000", "CN", "mobile", "Asia/Shanghai"),
    ("+34912345678", "ES", "fixed_line", "Europe/Madrid"),
    ("+390612345678", "IT", "fixed_line", "Europe/Rome"),
    ("+31201234567", "NL", "fixed_line", "Europe/Amsterdam"),
    ("+46812345678", "SE", "fixed_line", "Europe/Stockholm"),
    ("+48221234567", "PL", "fixed_line", "Europe/Warsaw"),
    ("+41441234567", "CH", "fixed_line", "Europe/Zurich"),
    ("+27211234567", "ZA", "fixed_line", "Africa/Johannesburg"),
    ("+6561234567", "SG", "fixed_line", "Asia/Singapore"),
    ("+97142345678", "AE", "fixed_line", "Asia/Dubai"),
    ("+14155552671", "US", "fixed_line_or_mobile", "America/Los_Angeles"),
    ("+14165550123", "CA", "fixed_line_or_mobile", "America/Toronto"),
    ("+5215512345678", None, None, None),  # not a valid Mexican number: no facts at all
    ("+525512345678", "MX", "fixed_line_or_mobile", "America/Mexico_City"),
    ("+3222345678", "BE", "fixed_line", "Europe/Brussels"),
    ("+4721234567", "NO", "fixed_line", "Europe/Oslo"),
    ("+35312345678", "IE", "fixed_line", None),
]


@pytest.mark.parametrize(("e164", "country", "line_type", "zone"), COUNTRIES)
def test_country_line_type_and_time_zone(
    e164: str, country: str | None, line_type: str | None, zone: str | None
) -> None:
    facts = phone_facts(e164)
    if country is None:
        assert facts is None
        return
    assert facts is not None
    assert (facts.country_code, facts.line_type) == (country, line_type)
    if zone is not None:
        assert facts.time_zones == (zone,)
    assert 0 < facts.country_confidence <= 1


@pytest.mark.parametrize(
    ("e164", "state", "locality"),
    [
        ("+14155552671", "US-CA", "San Francisco, CA"),
        ("+12125551234", "US-NY", "New York, NY"),
        ("+16175550100", "US-MA", "Massachusetts"),
        ("+13125550100", "US-IL", "Chicago, IL"),
        ("+17135550100", "US-TX", "Texas"),
        ("+19195550100", "US-NC", "North Carolina"),
        ("+14165550123", "CA-ON", "Ontario"),
        ("+16045550123", "CA-BC", "British Columbia"),
        ("+15145550123", "CA-QC", "Quebec"),
        ("+442079460958", None, "London"),  # no states outside the area-code countries
        ("+33142685300", None, "Paris"),
    ],
)
def test_area_codes_give_state_and_locality(e164: str, state: str | None, locality: str) -> None:
    facts = phone_facts(e164)
    assert facts is not None
    assert (facts.state_code, facts.locality) == (state, locality)


@pytest.mark.parametrize(
    ("e164", "line_type"),
    [
        ("+18005551234", "toll_free"),
        ("+19005550100", "premium_rate"),
        ("+448001234567", "toll_free"),
        ("+498001234567", "toll_free"),
    ],
)
def test_non_geographic_numbers_say_nothing_about_place(e164: str, line_type: str) -> None:
    facts = phone_facts(e164)
    assert facts is not None
    assert facts.line_type == line_type
    assert facts.locality is None and facts.state_code is None
    assert facts.country_confidence <= 0.5


def test_a_north_american_toll_free_number_pins_no_time_zone() -> None:
    facts = phone_facts("+18005551234")
    assert facts is not None and facts.time_zones == ()  # it reaches the whole numbering plan


def test_a_mobile_is_weaker_evidence_of_a_state_than_a_landline() -> None:
    mobile, landline = phone_facts("+4915112345678"), phone_facts("+4930123456")
    assert mobile is not None and landline is not None
    assert mobile.country_confidence < landline.country_confidence
    assert mobile.locality is None  # "Germany" is no finer than the country


@pytest.mark.parametrize("text", ["", "+", "not a number", "+999123", "+44 20"])
def test_invalid_numbers_give_no_facts(text: str) -> None:
    assert phone_facts(text) is None


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 123456", "DE", "+4930123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("020 7946 0958", "DE", None),  # not a valid German number
    ],
)
def test_national_numbers_read_once_a_country_is_known(raw: str, country: str, e164: str | None) -> None:
    assert reparse_national(raw, country) == e164
