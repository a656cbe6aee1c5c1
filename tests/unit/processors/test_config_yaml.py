"""Configuration YAML is read with the YAML 1.2 core schema: text a user wrote stays that text."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from processors.config import parse_yaml
from processors.owners.loader import parse_owners
from processors.rules import check_rules, load_rules


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        # YAML 1.1 booleans are text in 1.2: the trap of `equals: yes` and Norway's NO.
        ("yes", "yes"),
        ("No", "No"),
        ("NO", "NO"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        # A time of day is not a base-60 number, a leading zero is not octal.
        ("12:30", "12:30"),
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", "0b101"),
        ("100_000", 100_000),
        ("-3", -3),
        ("+7", 7),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.5", -0.5),
        (".inf", math.inf),
        ("1.2.3", "1.2.3"),
        ("~", None),
        ("null", None),
        ("", None),
        ("2026-12-01", dt.date(2026, 12, 1)),
        ('"yes"', "yes"),
    ],
)
def test_plain_scalars_follow_the_core_schema(scalar: str, value: Any) -> None:
    assert parse_yaml(f"v: {scalar}\n", "t.yaml").data == {"v": value}


def test_not_a_number_stays_a_float() -> None:
    assert math.isnan(parse_yaml("v: .NaN\n", "t.yaml").data["v"])


HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"


def _lead(raw: dict[str, Any] | None = None, country: str | None = None) -> dict[str, Any]:
    return {
        "lead_id": "l-1",
        "received_at_ms": 0,
        "raw": raw or {},
        "normalized": {"source": "web", "country_code": country},
        "enrichment": {},
        "crm": None,
        "segment": None,
        "trace": [],
    }


def test_an_unquoted_yes_matches_the_text_yes() -> None:
    text = (
        HEAD
        + "routes:\n  - name: consented\n    when: {field: raw.consent, equals: yes}\n    assign: {queue: opted-in}\n"
    )
    assert [f for f in check_rules(text, "rules.yaml") if f.severity == "error"] == []
    plan = load_rules(text, "rules.yaml").plan(_lead({"consent": "yes"}))
    assert plan.route == "consented"


def test_norway_in_a_country_list_is_the_code_no() -> None:
    text = (
        HEAD
        + "territories:\n  nordics: {countries: [NO, SE, DK, FI, IS]}\n"
        + "routes:\n  - name: nordics\n    when: {territory: nordics}\n    assign: {queue: nordics}\n"
        + "  - name: rest\n    when: {field: normalized.country_code, in: [NO, SE]}\n    assign: {queue: rest}\n"
    )
    rules = load_rules(text, "rules.yaml")
    assert rules.plan(_lead(country="NO")).territories == ("nordics",)
    assert rules.plan(_lead(country="NO")).route == "nordics"


def test_owners_keep_norwegian_as_a_language() -> None:
    (owner,) = parse_owners("- id: a\n  languages: [no, en]\n  skills: [on-site]\n", "owners.yaml")
    assert owner.languages == ("no", "en")
