"""Scoring rules: each operator, all/any, clipping, the breakdown, and the shipped rules."""

from __future__ import annotations

from textwrap import dedent, indent
from typing import Any

import pytest

from processors.config import parse_yaml
from processors.segmentation import Segmenter, load_definitions, shipped_segmenter
from processors.segmentation.scoring import parse_condition, score


def holds(condition: str, lead: dict[str, Any]) -> bool:
    doc = parse_yaml(dedent(condition), "test.yaml")
    return parse_condition(doc, (), doc.data).holds(lead)


LEAD: dict[str, Any] = {
    "normalized": {"source": "web", "email_valid": True, "employees_min": 250},
    "enrichment": {
        "seniority": "vp",
        "functions": ["sales", "marketing"],
        "annual_revenue": 12_500_000.0,
        "email_is_free_mail": False,
        "region": "",
    },
    "crm": None,
    "segment": {"size_band": "mid_market"},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{field: enrichment.seniority, equals: vp}", True),
        ("{field: enrichment.seniority, equals: VP}", True),  # text compares case-insensitively
        ("{field: enrichment.seniority, equals: director}", False),
        ("{field: normalized.email_valid, equals: true}", True),
        ("{field: enrichment.email_is_free_mail, equals: false}", True),
        ("{field: enrichment.email_is_free_mail, equals: 0}", False),  # false is not 0
        ("{field: normalized.employees_min, equals: 250}", True),
        ("{field: enrichment.functions, equals: marketing}", True),  # any item of a list
        ("{field: normalized.source, in: [web, chat]}", True),
        ("{field: normalized.source, in: [event]}", False),
        ("{field: enrichment.functions, in: [hr, sales]}", True),
        ("{field: enrichment.annual_revenue, range: {min: 10_000_000, max: 12_500_000}}", True),
        ("{field: enrichment.annual_revenue, range: {min: 12_500_001}}", False),
        ("{field: enrichment.seniority, range: {min: 0}}", False),  # not a number
        ("{field: enrichment.seniority, exists: true}", True),
        ("{field: enrichment.region, exists: true}", False),  # empty text is absent
        ("{field: enrichment.hq_country_code, exists: false}", True),
        ("{field: crm.account.id, exists: false}", True),  # the crm section is missing
        ("{field: crm.has_open_opportunity, equals: false}", False),  # missing is not false
        ("{field: segment.size_band, in: [mid_market, enterprise]}", True),
        ("{field: raw.custom.campaign, exists: false}", True),  # raw.custom takes any key
        ("{all: [{field: normalized.source, equals: web}, {field: enrichment.seniority, equals: vp}]}", True),
        (
            "{all: [{field: normalized.source, equals: web}, {field: enrichment.seniority, equals: ic}]}",
            False,
        ),
        ("{any: [{field: normalized.source, equals: api}, {field: enrichment.seniority, equals: vp}]}", True),
        (
            "{any: [{field: normalized.source, equals: api}, {field: enrichment.seniority, equals: ic}]}",
            False,
        ),
        (
            "{any: [{all: [{field: normalized.source, equals: web}]},"
            " {field: crm.is_duplicate, equals: true}]}",
            True,
        ),
    ],
)
def test_each_operator(condition: str, expected: bool) -> None:
    assert holds(condition, LEAD) is expected


def _segmenter(rules: str, base: int = 0) -> Segmenter:
    text = f"version: 1\nscoring:\n  base: {base}\n  rules:\n" + indent(dedent(rules), "    ")
    return Segmenter(load_definitions(parse_yaml(text, "rules.yaml")))


RULES = """\
    - name: big
      points: 70
      when: {field: normalized.source, equals: web}
      reason: Big
    - name: bigger
      points: 50
      when: {field: enrichment.seniority, equals: vp}
      reason: Bigger
    - name: bad
      points: -200
      when: {field: enrichment.email_is_disposable, equals: true}
      reason: Bad
"""


def test_score_is_clipped_and_the_breakdown_keeps_every_rule_that_held() -> None:
    segmenter = _segmenter(RULES)
    found = segmenter.segment(LEAD)  # type: ignore[arg-type]
    assert found["score"] == 100  # 120 clipped
    assert found["score_breakdown"] == [
        {"rule": "big", "attribute": "normalized.source", "points": 70, "reason": "Big"},
        {"rule": "bigger", "attribute": "enrichment.seniority", "points": 50, "reason": "Bigger"},
    ]
    bad = {**LEAD, "enrichment": {**LEAD["enrichment"], "email_is_disposable": True}}
    found = segmenter.segment(bad)  # type: ignore[arg-type]
    assert found["score"] == 0  # -80 clipped
    assert [entry["rule"] for entry in found["score_breakdown"]] == ["big", "bigger", "bad"]


def test_base_points_and_group_attributes() -> None:
    segmenter = _segmenter(
        """\
    - name: both
      points: 5
      when: {all: [{field: normalized.source, equals: web}, {field: enrichment.seniority, exists: true}]}
      reason: Both
    """,
        base=40,
    )
    found = segmenter.segment(LEAD)  # type: ignore[arg-type]
    assert found["score"] == 45
    assert found["score_breakdown"][0]["attribute"] == "normalized.source, enrichment.seniority"


def test_no_scoring_section_means_no_score() -> None:
    found = Segmenter(load_definitions(parse_yaml("version: 1\n", "x.yaml"))).segment(LEAD)  # type: ignore[arg-type]
    assert found["score"] is None and found["score_breakdown"] == []


def test_score_function_directly() -> None:
    assert score({}, (), base=150) == (100, [])
    assert score({}, (), base=-3) == (0, [])


# --- the shipped rules ---------------------------------------------------------------------------


def _shipped(**sections: dict[str, Any]) -> tuple[int | None, list[str]]:
    found = shipped_segmenter().segment({"lead_id": "x", **sections})  # type: ignore[arg-type]
    return found["score"], [entry["rule"] for entry in found["score_breakdown"]]


def test_shipped_rules_reward_an_enterprise_executive_with_an_open_deal() -> None:
    points, rules = _shipped(
        normalized={"employees_min": 5000, "employees_max": 5000, "source": "web", "email_valid": True,
                    "phone_valid": True},
        enrichment={"seniority": "c_level", "annual_revenue": 9e8, "email_is_free_mail": False,
                    "email_is_disposable": False, "email_is_role": False},
        crm={"account": {"id": "001"}, "has_open_opportunity": True},
    )  # fmt: skip
    assert rules == [
        "enterprise", "large_revenue", "executive", "business_email", "valid_phone", "inbound",
        "open_opportunity", "known_account",
    ]  # fmt: skip
    assert points == 90  # 20 + 10 + 15 + 5 + 5 + 10 + 15 + 10


def test_shipped_rules_mark_down_free_mail_and_disposable_addresses() -> None:
    free = {"email_is_free_mail": True, "email_is_disposable": False, "seniority": "vp"}
    assert _shipped(normalized={"source": "web", "email_valid": True}, enrichment=free) == (
        5,
        ["executive", "free_mail", "inbound"],
    )
    disposable = {"email_is_free_mail": False, "email_is_disposable": True, "email_is_role": True}
    assert _shipped(normalized={"source": "event"}, enrichment=disposable) == (
        0,
        ["disposable_email", "role_email", "event"],
    )
