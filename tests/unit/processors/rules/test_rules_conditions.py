"""Every condition operator, combinator and shorthand, evaluated through a real rule file."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

import json
from typing import Any

import pytest

from processors.rules import load_rules


def _rules(when: dict[str, Any], extra: str = "") -> Any:
    text = (
        "version: 1\n"
        "defaults: {channel: sales, fallback: [{queue: unassigned}]}\n"
        f"{extra}"
        "routes:\n"
        f"  - name: probe\n    when: {json.dumps(when)}\n    assign: {{queue: hit}}\n"
    )
    return load_rules(text, "probe.yaml")


def _lead(**sections: Any) -> dict[str, Any]:
    lead: dict[str, Any] = {
        "lead_id": "l-1",
        "received_at_ms": 1_767_225_600_000,  # 2026-01-01T00:00:00Z
        "raw": {},
        "normalized": {},
        "enrichment": {},
        "crm": None,
        "segment": None,
        "trace": [],
    }
    lead.update(sections)
    return lead


def _matches(when: dict[str, Any], lead: dict[str, Any], extra: str = "") -> bool:
    return _rules(when, extra).plan(lead).route == "probe"


def _seg(**values: Any) -> dict[str, Any]:
    return _lead(segment=values)


# --- equals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "seen", "expected"),
    [
        ("enterprise", "enterprise", True),
        ("Enterprise", "ENTERPRISE", True),  # text compares without case
        ("enterprise", "smb", False),
        ("enterprise", None, False),  # a missing value never matches
        (80, 80, True),
        (80, 80.0, True),
        (80, "80", True),  # text that reads as a number matches a number
        ("80", 80, True),
        (80, 81, False),
        (True, True, True),
        (True, False, False),
        (True, "true", True),
        (True, 1, False),  # 1 is not true
        ("x", ["a", "x"], True),  # a list matches when an item does
        ("x", [], False),
    ],
)
def test_equals(rule: Any, seen: Any, expected: bool) -> None:
    assert _matches({"field": "segment.size_band", "equals": rule}, _seg(size_band=seen)) is expected


def test_equals_on_a_boolean_field() -> None:
    when = {"field": "enrichment.email_is_disposable", "equals": True}
    assert _matches(when, _lead(enrichment={"email_is_disposable": True}))
    assert not _matches(when, _lead(enrichment={"email_is_disposable": False}))
    assert not _matches(when, _lead(enrichment=None))


def test_equals_on_a_missing_section_is_false() -> None:
    assert not _matches({"field": "crm.account.tier", "equals": "gold"}, _lead(crm=None))


# --- in / not_in -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ("mid_market", True),
        ("MID_MARKET", True),
        ("smb", False),
        (None, False),
        (["smb", "enterprise"], True),
    ],
)
def test_in(seen: Any, expected: bool) -> None:
    when = {"field": "segment.size_band", "in": ["enterprise", "mid_market"]}
    assert _matches(when, _seg(size_band=seen)) is expected


def test_in_mixes_numbers_and_text() -> None:
    when = {"field": "raw.custom.tier", "in": [1, 2]}
    assert _matches(when, _lead(raw={"custom": {"tier": "2"}}))
    assert not _matches(when, _lead(raw={"custom": {"tier": "3"}}))


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ("smb", True),
        ("Enterprise", False),
        (None, False),  # missing never matches, not even not_in: combine with `not` to include it
        (["smb", "micro"], True),
        (["smb", "enterprise"], False),
    ],
)
def test_not_in(seen: Any, expected: bool) -> None:
    when = {"field": "segment.size_band", "not_in": ["enterprise", "mid_market"]}
    assert _matches(when, _seg(size_band=seen)) is expected


def test_not_over_in_includes_missing_values() -> None:
    when = {"not": {"field": "segment.size_band", "in": ["enterprise"]}}
    assert _matches(when, _seg(size_band=None))
    assert not _matches(when, _seg(size_band="enterprise"))


# --- contains / starts_with / ends_with -----------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ("Working Student", True),
        ("STUDENT ambassador", True),
        ("Studio manager", False),
        (None, False),
        (42, False),
    ],
)
def test_contains_text(seen: Any, expected: bool) -> None:
    assert (
        _matches({"field": "normalized.title", "contains": "student"}, _lead(normalized={"title": seen}))
        is expected
    )


def test_contains_is_membership_for_lists() -> None:
    when = {"field": "enrichment.functions", "contains": "Sales"}
    assert _matches(when, _lead(enrichment={"functions": ["marketing", "sales"]}))
    assert not _matches(when, _lead(enrichment={"functions": ["sales ops"]}))
    assert not _matches(when, _lead(enrichment={"functions": []}))


@pytest.mark.parametrize(
    ("seen", "expected"),
    [("+12125550100", True), ("+16465550100", True), ("+14155550100", False), (None, False)],
)
def test_starts_with_any_of_several(seen: Any, expected: bool) -> None:
    when = {"field": "normalized.phone_e164", "starts_with": ["+1212", "+1646"]}
    assert _matches(when, _lead(normalized={"phone_e164": seen})) is expected


def test_starts_with_ignores_case() -> None:
    assert _matches(
        {"field": "normalized.title", "starts_with": "vp"}, _lead(normalized={"title": "VP Sales"})
    )


@pytest.mark.parametrize(("seen", "expected"), [("mit.edu", True), ("OX.AC.UK", True), ("acme.com", False)])
def test_ends_with(seen: str, expected: bool) -> None:
    when = {"field": "enrichment.email_domain", "ends_with": [".edu", ".ac.uk"]}
    assert _matches(when, _lead(enrichment={"email_domain": seen})) is expected


# --- regex ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ("Working Student", True),  # search: anywhere in the value
        ("Student", True),
        ("studentische Hilfskraft", False),  # \b needs a word boundary
        ("Manager", False),
        (None, False),
    ],
)
def test_regex_searches_without_case(seen: Any, expected: bool) -> None:
    when = {"field": "normalized.title", "regex": r"\bstudent\b"}
    assert _matches(when, _lead(normalized={"title": seen})) is expected


def test_regex_anchors_work() -> None:
    when = {"field": "normalized.postal_code", "regex": "^9[0-4]"}
    assert _matches(when, _lead(normalized={"postal_code": "94103"}))
    assert not _matches(when, _lead(normalized={"postal_code": "19410"}))


def test_regex_reads_numbers_as_text() -> None:
    assert _matches({"field": "segment.score", "regex": "^9"}, _seg(score=95))


# --- range ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "seen", "expected"),
    [
        ({"min": 50, "max": 199}, 50, True),  # min and max are inclusive
        ({"min": 50, "max": 199}, 199, True),
        ({"min": 50, "max": 199}, 200, False),
        ({"min": 50, "max": 199}, 49, False),
        ({"above": 50, "below": 200}, 50, False),  # above and below are exclusive
        ({"above": 50, "below": 200}, 199.5, True),
        ({"above": 50, "below": 200}, 200, False),
        ({"min": 70}, 70, True),
        ({"below": 30}, 29, True),
        ({"below": 30}, "12", True),  # numeric text counts
        ({"below": 30}, "twelve", False),
        ({"below": 30}, None, False),
        ({"below": 30}, True, False),  # booleans are not numbers
    ],
)
def test_range_on_numbers(bounds: dict[str, Any], seen: Any, expected: bool) -> None:
    assert _matches({"field": "segment.score", "range": bounds}, _seg(score=seen)) is expected


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        ("2026-03-01T10:00:00.000Z", True),
        ("2026-03-31T23:59:59.000Z", True),  # max date is inclusive for the whole day
        ("2026-04-01T00:00:00.000Z", False),
        ("2026-02-28", False),
        ("2026-03-15", True),
        ("not a date", False),
    ],
)
def test_range_on_dates(seen: str, expected: bool) -> None:
    when = {"field": "normalized.submitted_at", "range": {"min": "2026-03-01", "max": "2026-03-31"}}
    assert _matches(when, _lead(normalized={"submitted_at": seen})) is expected


def test_range_on_datetimes_and_epoch_milliseconds() -> None:
    when = {
        "field": "received_at_ms",
        "range": {"min": "2025-12-31T23:00:00Z", "below": "2026-01-01T01:00:00Z"},
    }
    assert _matches(when, _lead(received_at_ms=1_767_225_600_000))
    assert not _matches(when, _lead(received_at_ms=1_767_225_600_000 + 3_600_000))


def test_range_accepts_unquoted_yaml_dates() -> None:
    text = (
        "version: 1\ndefaults: {channel: sales}\nroutes:\n  - name: probe\n"
        "    when: {field: crm.open_opportunities.close_date, range: {min: 2026-01-01, max: 2026-06-30}}\n"
        "    assign: {queue: q}\n"
    )
    rules = load_rules(text, "dates.yaml")
    lead = _lead(crm={"open_opportunities": [{"close_date": "2025-11-02"}, {"close_date": "2026-02-03"}]})
    assert rules.plan(lead).route == "probe"


def test_range_over_an_array_of_records_matches_any_item() -> None:
    when = {"field": "crm.open_opportunities.amount", "range": {"min": 100000}}
    assert _matches(when, _lead(crm={"open_opportunities": [{"amount": 5.0}, {"amount": 250000.0}]}))
    assert not _matches(when, _lead(crm={"open_opportunities": [{"amount": 5.0}]}))
    assert not _matches(when, _lead(crm={"open_opportunities": []}))


# --- exists / is_empty -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crm", "expected"), [({"account": {"id": "a1"}}, True), ({"account": None}, False), (None, False)]
)
def test_exists_shorthand(crm: Any, expected: bool) -> None:
    assert _matches({"exists": "crm.account.id"}, _lead(crm=crm)) is expected


@pytest.mark.parametrize(("seen", "expected"), [("", True), ("x", True), (None, False), ([], True)])
def test_exists_true(seen: Any, expected: bool) -> None:
    when = {"field": "normalized.title", "exists": True}
    assert _matches(when, _lead(normalized={"title": seen})) is expected


def test_exists_false() -> None:
    when = {"field": "normalized.title", "exists": False}
    assert _matches(when, _lead(normalized={"title": None}))
    assert _matches(when, _lead(normalized=None))
    assert not _matches(when, _lead(normalized={"title": "CEO"}))


@pytest.mark.parametrize(
    ("seen", "expected"),
    [(None, True), ("", True), ("   ", True), ([], True), ("CEO", False), (["x"], False), (0, False)],
)
def test_is_empty(seen: Any, expected: bool) -> None:
    assert (
        _matches({"field": "normalized.title", "is_empty": True}, _lead(normalized={"title": seen}))
        is expected
    )
    assert (
        _matches({"field": "normalized.title", "is_empty": False}, _lead(normalized={"title": seen}))
        is not expected
    )


# --- combinators ---------------------------------------------------------------------------


def test_all_any_not_nest() -> None:
    when = {
        "all": [
            {
                "any": [
                    {"field": "segment.size_band", "equals": "enterprise"},
                    {"field": "segment.score", "range": {"min": 90}},
                ]
            },
            {"not": {"field": "enrichment.email_is_free_mail", "equals": True}},
        ]
    }
    assert _matches(
        when, _lead(segment={"size_band": "enterprise"}, enrichment={"email_is_free_mail": False})
    )
    assert _matches(when, _lead(segment={"size_band": "smb", "score": 95}, enrichment={}))
    assert not _matches(when, _lead(segment={"size_band": "smb", "score": 10}, enrichment={}))
    assert not _matches(
        when, _lead(segment={"size_band": "enterprise"}, enrichment={"email_is_free_mail": True})
    )


def test_double_negation() -> None:
    when = {"not": {"not": {"field": "segment.size_band", "equals": "smb"}}}
    assert _matches(when, _seg(size_band="smb"))
    assert not _matches(when, _seg(size_band="enterprise"))


def test_evaluation_short_circuits_and_traces_only_what_ran() -> None:
    when = {
        "all": [
            {"field": "segment.size_band", "equals": "smb"},
            {"field": "segment.score", "range": {"min": 1}},
        ]
    }
    plan = _rules(when).plan(_seg(size_band="enterprise", score=5))
    (probe,) = [trace for trace in plan.trace if trace.route == "probe"]
    assert [c.description for c in probe.conditions] == ["segment.size_band equals smb"]
    assert probe.conditions[0].seen == "enterprise"
    assert probe.conditions[0].matched is False


def test_not_adds_its_own_trace_line() -> None:
    plan = _rules({"not": {"field": "segment.size_band", "equals": "smb"}}).plan(_seg(size_band="smb"))
    leaf, negation = plan.trace[0].conditions
    assert (leaf.matched, negation.matched) == (True, False)
    assert negation.description == "not (segment.size_band equals smb)"


# --- shorthands ----------------------------------------------------------------------------


def test_source_shorthand_reads_normalized_source() -> None:
    when = {"source": ["web", "list_import"]}
    assert _matches(when, _lead(normalized={"source": "web"}))
    assert not _matches(when, _lead(normalized={"source": "partner"}))
    assert _matches({"source": "partner"}, _lead(normalized={"source": "partner"}))


def test_segment_shorthand_and_segments_referencing_segments() -> None:
    extra = (
        "segments:\n"
        "  big: {field: segment.size_band, in: [enterprise, mid_market]}\n"
        "  hot: {field: segment.score, range: {min: 80}}\n"
        "  big-and-hot: {all: [{segment: big}, {segment: hot}]}\n"
    )
    rules = _rules({"segment": "big-and-hot"}, extra)
    plan = rules.plan(_seg(size_band="enterprise", score=90))
    assert plan.route == "probe"
    assert plan.segments == ("big", "hot", "big-and-hot")
    assert rules.plan(_seg(size_band="enterprise", score=10)).route is None
    assert rules.plan(_seg(size_band="enterprise", score=10)).segments == ("big",)


def test_segment_shorthand_with_a_list_means_any() -> None:
    extra = "segments:\n  a: {field: segment.vertical, equals: health}\n  b: {field: segment.vertical, equals: finance}\n"
    assert _matches({"segment": ["a", "b"]}, _seg(vertical="finance"), extra)
    assert not _matches({"segment": ["a", "b"]}, _seg(vertical="retail"), extra)


def test_territory_shorthand() -> None:
    extra = "territories:\n  dach: {countries: [DE, AT, CH]}\n  nordics: {countries: [SE, 'NO', DK, FI]}\n"
    assert _matches({"territory": "dach"}, _lead(normalized={"country_code": "AT"}), extra)
    assert _matches({"territory": ["dach", "nordics"]}, _lead(normalized={"country_code": "NO"}), extra)
    assert not _matches({"territory": "dach"}, _lead(normalized={"country_code": "FR"}), extra)


def test_field_paths_into_maps() -> None:
    when = {"field": "raw.custom.utm_campaign", "starts_with": "q4-"}
    assert _matches(when, _lead(raw={"custom": {"utm_campaign": "Q4-webinar"}}))
    assert not _matches(when, _lead(raw={"custom": {}}))
    assert _matches({"field": "raw.consent.email", "equals": True}, _lead(raw={"consent": {"email": True}}))


def test_top_level_fields() -> None:
    assert _matches({"field": "lead_id", "starts_with": "l-"}, _lead())
