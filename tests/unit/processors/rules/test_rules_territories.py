"""Territories: country, state, postal prefix and range, phone prefix; overlaps reported."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

from typing import Any

import pytest

from processors.rules import check_rules, load_rules

HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"
ROUTE = "routes:\n  - name: r\n    assign: {queue: q}\n"


def _territories(spec: str) -> Any:
    return load_rules(HEAD + "territories:\n" + spec + ROUTE, "rules.yaml")


def _lead(
    normalized: dict[str, Any] | None = None, enrichment: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "lead_id": "x",
        "received_at_ms": 0,
        "raw": {},
        "normalized": normalized,
        "enrichment": enrichment,
    }


US_WEST = (
    "  us-west:\n    countries: [US]\n    states: [CA, OR, WA]\n"
    "    postal_codes: ['9', {from: '80000', to: '84999'}]\n"
    "  nyc: {phone_area_codes: ['+1212', '+1646']}\n"
    "  uk-ireland: {countries: [gb, IE]}\n"
)


@pytest.mark.parametrize(
    ("normalized", "enrichment", "expected"),
    [
        ({"country_code": "US", "state_code": "US-CA"}, None, ("us-west",)),
        (
            {"country_code": "US", "state_code": "US-TX", "postal_code": "94103"},
            None,
            ("us-west",),
        ),  # prefix 9
        ({"country_code": "US", "postal_code": "82001"}, None, ("us-west",)),  # range
        ({"country_code": "US", "postal_code": "85001"}, None, ()),
        ({"country_code": "US", "postal_code": "8000"}, None, ()),  # too short for the range
        ({"country_code": "DE", "postal_code": "94103"}, None, ()),  # wrong country
        ({"country_code": "US", "phone_e164": "+12125550100"}, None, ("nyc",)),
        (
            {"country_code": "GB", "phone_e164": "+16465550100"},
            None,
            ("nyc", "uk-ireland"),
        ),  # phone: any country
        ({"country_code": "ie"}, None, ("uk-ireland",)),  # case does not matter
        (None, {"country_code": "GB"}, ("uk-ireland",)),  # enrichment when normalized has nothing
        ({"country_code": None}, {"country_code": "US", "state_code": "US-WA"}, ("us-west",)),
        (
            {"country_code": "GB"},
            {"country_code": "US", "state_code": "US-CA"},
            ("uk-ireland",),
        ),  # explicit wins
        (None, None, ()),
    ],
)
def test_membership(normalized: Any, enrichment: Any, expected: tuple[str, ...]) -> None:
    assert _territories(US_WEST).plan(_lead(normalized, enrichment)).territories == expected


def test_postal_prefixes_ignore_spaces_and_case() -> None:
    rules = _territories("  london: {countries: [GB], postal_codes: [sw1, EC]}\n")
    assert rules.plan(_lead({"country_code": "GB", "postal_code": "SW1A 1AA"})).territories == ("london",)
    assert rules.plan(_lead({"country_code": "GB", "postal_code": "ec2a 4bx"})).territories == ("london",)
    assert rules.plan(_lead({"country_code": "GB", "postal_code": "M1 1AE"})).territories == ()


def test_full_state_codes_without_countries() -> None:
    rules = _territories("  ontario: {states: [CA-ON]}\n")
    assert rules.plan(_lead({"state_code": "CA-ON"})).territories == ("ontario",)


def test_sub_territories_are_all_reported_in_file_order() -> None:
    rules = _territories("  emea: {countries: [DE, FR]}\n  dach: {countries: [DE, AT, CH]}\n")
    assert rules.plan(_lead({"country_code": "DE"})).territories == ("emea", "dach")


def _overlaps(spec: str) -> list[str]:
    return [
        f.message
        for f in check_rules(HEAD + "territories:\n" + spec + ROUTE, "r.yaml")
        if f.code == "territory_overlap"
    ]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("  a: {countries: [US, CA]}\n  b: {countries: [CA, MX]}\n", "both cover CA"),
        ("  a: {countries: [DE]}\n  b: {countries: [DE]}\n", "both cover exactly DE"),
        ("  a: {countries: [US], states: [CA, OR]}\n  b: {countries: [US], states: [OR, WA]}\n", "US-OR"),
        ("  a: {countries: [US], states: [CA]}\n  b: {countries: [US], states: [CA]}\n", "US-CA"),
        (
            "  a: {countries: [US], postal_codes: ['9', '80']}\n  b: {countries: [US], postal_codes: ['94', '70']}\n",
            "postal",
        ),
        (
            "  a: {countries: [US], postal_codes: [{from: '80000', to: '84999'}]}\n"
            "  b: {countries: [US], postal_codes: [{from: '84000', to: '86999'}]}\n",
            "80000–84999 and 84000–86999",
        ),
        (
            "  a: {phone_area_codes: ['+1212', '+1415']}\n  b: {phone_area_codes: ['+1212', '+1646']}\n",
            "+1212",
        ),
    ],
)
def test_overlaps_are_reported(spec: str, reason: str) -> None:
    (message,) = _overlaps(spec)
    assert reason in message
    assert message.endswith(".")


@pytest.mark.parametrize(
    "spec",
    [
        "  emea: {countries: [DE, FR, GB]}\n  dach: {countries: [DE]}\n",  # a sub-territory
        "  us: {countries: [US]}\n  us-west: {countries: [US], states: [CA]}\n",  # narrowed inside
        "  west: {countries: [US], states: [CA, OR, WA]}\n  pnw: {countries: [US], states: [OR, WA]}\n",
        "  a: {countries: [US], postal_codes: ['9']}\n  b: {countries: [US], postal_codes: ['94', '95']}\n",
        "  a: {countries: [US], postal_codes: [{from: '80000', to: '89999'}]}\n  b: {countries: [US], postal_codes: ['81']}\n",
        "  a: {countries: [US], states: [CA]}\n  b: {countries: [GB], states: [GB-LND]}\n",
        "  a: {countries: [US], postal_codes: ['9']}\n  b: {countries: [DE], postal_codes: ['9']}\n",  # other countries
        "  a: {phone_area_codes: ['+1']}\n  b: {phone_area_codes: ['+1212']}\n",
    ],
)
def test_nesting_and_disjoint_territories_are_fine(spec: str) -> None:
    assert _overlaps(spec) == []


def test_overlap_is_a_warning_at_the_second_territory() -> None:
    findings = check_rules(
        HEAD + "territories:\n  a: {countries: [DE]}\n  b: {countries: [DE]}\n" + ROUTE, "r.yaml"
    )
    (finding,) = findings
    assert (finding.severity, finding.line) == ("warning", 5)
