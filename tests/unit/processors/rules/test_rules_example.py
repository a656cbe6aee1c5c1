"""The shipped example rule file routes real normalized and enriched leads as its comments say."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from processors.normalize.lead import normalize_lead
from processors.rules import load_rules
from processors.rules.ruleset import RuleSet
from tests.support.builders import shipped_enricher
from tests.support.paths import REPO

EXAMPLE = REPO / "processors" / "rules" / "data" / "example.yaml"


@cache
def _rules() -> RuleSet:
    return load_rules(EXAMPLE.read_text(encoding="utf-8"), "example.yaml")


def _lead(raw: dict[str, Any], crm: Any = None, segment: Any = None) -> dict[str, Any]:
    lead: Any = {
        "lead_id": "l-1",
        "received_at_ms": 0,
        "raw": raw,
        "normalized": normalize_lead(raw),
        "enrichment": None,
        "crm": None,
        "segment": None,
        "trace": [],
    }
    lead = shipped_enricher().enrich(lead)
    return {**lead, "crm": crm, "segment": segment}


def test_students_are_disqualified() -> None:
    plan = _rules().plan(_lead({"email": "jo@acme.com", "title": "Working Student", "source": "web"}))
    assert (plan.route, plan.channel) == ("disqualify-students", "disqualified")


def test_german_enterprise_lead_goes_to_the_dach_pool_with_german() -> None:
    plan = _rules().plan(
        _lead(
            {"email": "max@siemens.de", "country": "Germany", "title": "CTO", "source": "web"},
            segment={"size_band": "enterprise", "score": 80},
        )
    )
    assert plan.route == "emea / dach-enterprise"
    assert plan.territories == ("emea", "dach")
    assert plan.actions[0].pool == "dach-enterprise"
    assert plan.actions[0].require_skills == ("german",)
    assert [getattr(a, "pool", getattr(a, "queue", None)) for a in plan.actions] == [
        "dach-enterprise",
        "emea-enterprise",
        "emea-overflow",
        "unassigned",
    ]
    assert plan.sticky_key == "siemens.de"


def test_known_account_goes_to_its_owner_with_fallbacks() -> None:
    crm = {
        "account": {"id": "acc-1", "owner_id": "carla.mendes", "tier": "standard"},
        "person": {"owner_id": "ben.okafor"},
        "has_open_opportunity": False,
        "review": False,
    }
    plan = _rules().plan(_lead({"email": "a@acme.com", "country": "US", "title": "VP Sales"}, crm=crm))
    assert plan.route == "existing-accounts / account-owner"
    assert [(getattr(a, "source", None), getattr(a, "owner_id", None)) for a in plan.actions[:2]] == [
        ("account_owner", "carla.mendes"),
        ("existing_owner", "ben.okafor"),
    ]
    assert plan.sticky_key is None


def test_free_mail_smb_goes_to_nurture() -> None:
    plan = _rules().plan(
        _lead(
            {"email": "someone@gmail.com", "country": "US", "source": "web"},
            segment={"size_band": "smb", "score": 50},
        )
    )
    assert (plan.route, plan.channel) == ("nurture-low-intent", "nurture")
    assert plan.sticky_key is None


def test_us_west_enterprise_by_state() -> None:
    plan = _rules().plan(
        _lead(
            {"email": "a@bigco.com", "country": "US", "state": "California", "title": "CIO", "source": "web"},
            segment={"size_band": "enterprise", "score": 90},
        )
    )
    assert plan.route == "amer / us-west-enterprise"
    assert "us-west" in plan.territories


def test_unknown_place_falls_to_the_catch_all() -> None:
    plan = _rules().plan(
        _lead({"email": "a@acme.com", "title": "Engineer"}, segment={"size_band": "mid_market", "score": 60})
    )
    assert plan.route == "catch-all"


@pytest.mark.parametrize("size_band", ["enterprise", "mid_market", "smb", "micro", None])
def test_every_size_band_is_routed(size_band: str | None) -> None:
    plan = _rules().plan(
        _lead(
            {"email": "a@acme.fr", "country": "FR", "source": "web"},
            segment={"size_band": size_band, "score": 50},
        )
    )
    assert plan.actions
