"""Routes, groups, actions, channels, stickiness and versions (explanations: test_explain.py)."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

from typing import Any

import pytest

from processors.routing.plan import OwnerAction, PoolAction, PoolMember, QueueAction
from processors.rules import load_rules
from processors.rules.ruleset import NO_ROUTE_NOTE


def _lead(**sections: Any) -> dict[str, Any]:
    lead: dict[str, Any] = {
        "lead_id": "l-1",
        "received_at_ms": 0,
        "raw": {},
        "normalized": {"source": "web"},
        "enrichment": {},
        "crm": None,
        "segment": None,
        "trace": [],
    }
    lead.update(sections)
    return lead


BASE = """\
version: 1
defaults:
  channel: sales
  fallback: [{queue: unassigned}]
pools:
  emea:
    strategy: round_robin
    members: [ana, ben]
    require_skills: [German]
  west:
    strategy: weighted
    members: [cara, {owner: dan, weight: 3}]
  mm:
    strategy: load_balanced
    balance_by: open_load
    members: [eve]
"""


def _rules(routes: str, head: str = BASE) -> Any:
    return load_rules(head + "routes:\n" + routes, "rules.yaml")


def test_first_matching_route_wins() -> None:
    rules = _rules(
        "  - name: a\n    when: {field: segment.size_band, equals: smb}\n    assign: {queue: qa}\n"
        "  - name: b\n    when: {field: segment.score, range: {min: 1}}\n    assign: {queue: qb}\n"
        "  - name: c\n    assign: {queue: qc}\n"
    )
    plan = rules.plan(_lead(segment={"size_band": "smb", "score": 5}))
    assert plan.route == "a"
    assert [t.route for t in plan.trace] == ["a"]
    plan = rules.plan(_lead(segment={"size_band": "enterprise", "score": 5}))
    assert plan.route == "b"
    assert [(t.route, t.matched) for t in plan.trace] == [("a", False), ("b", True)]
    plan = rules.plan(_lead())
    assert plan.route == "c"
    assert plan.trace[-1].conditions == ()


def test_no_match_applies_defaults() -> None:
    rules = _rules(
        "  - name: a\n    when: {field: segment.size_band, equals: smb}\n    assign: {owner: zed}\n"
    )
    plan = rules.plan(_lead())
    assert plan.route is None
    assert plan.channel == "sales"
    assert plan.actions == (QueueAction("unassigned", 4),)
    assert plan.notes == (NO_ROUTE_NOTE,)


def test_group_falls_through_when_no_child_matches() -> None:
    rules = _rules(
        "  - group: accounts\n    when: {exists: crm.account.id}\n    routes:\n"
        "      - name: strategic\n        when: {field: crm.account.tier, equals: strategic}\n"
        "        assign: {account_owner: true}\n"
        "  - name: after\n    assign: {queue: later}\n"
    )
    plan = rules.plan(_lead(crm={"account": {"id": "a1", "tier": "standard", "owner_id": "o1"}}))
    assert plan.route == "after"
    assert [(t.route, t.matched, t.group) for t in plan.trace] == [
        ("accounts", True, True),
        ("accounts / strategic", False, False),
        ("after", True, False),
    ]
    plan = rules.plan(_lead(crm={"account": {"id": "a1", "tier": "strategic", "owner_id": "o1"}}))
    assert plan.route == "accounts / strategic"
    assert plan.actions[0] == OwnerAction("account_owner", "o1", plan.actions[0].line)


def test_group_not_entered_when_its_condition_fails() -> None:
    rules = _rules(
        "  - group: g\n    when: {exists: crm.account.id}\n    routes:\n"
        "      - name: inner\n        assign: {queue: q1}\n"
        "  - name: outer\n    assign: {queue: q2}\n"
    )
    plan = rules.plan(_lead())
    assert [t.route for t in plan.trace] == ["g", "outer"]


def test_nested_groups_join_names_and_inherit_channel_and_fallbacks() -> None:
    rules = _rules(
        "  - group: outer\n    channel: enterprise\n    fallback: [{queue: outer-q}]\n    routes:\n"
        "      - group: inner\n        fallback: [{queue: inner-q}]\n        routes:\n"
        "          - name: deep\n            assign: {pool: emea}\n            fallback: [{owner: zed}]\n"
    )
    plan = rules.plan(_lead())
    assert plan.route == "outer / inner / deep"
    assert plan.channel == "enterprise"
    kinds = [type(a).__name__ + ":" + getattr(a, "queue", getattr(a, "pool", "")) for a in plan.actions]
    assert kinds == [
        "PoolAction:emea",
        "OwnerAction:",
        "QueueAction:inner-q",
        "QueueAction:outer-q",
        "QueueAction:unassigned",
    ]


def test_every_action_kind_and_chain_order() -> None:
    rules = _rules(
        "  - name: all-kinds\n    assign: {account_owner: true}\n"
        "    fallback:\n      - existing_owner: true\n      - pool: emea\n      - owner: zed\n      - queue: review\n"
    )
    lead = _lead(
        crm={"account": {"id": "a", "owner_id": "acct-owner"}, "person": {"owner_id": "person-owner"}}
    )
    actions = rules.plan(lead).actions
    assert actions[0] == OwnerAction("account_owner", "acct-owner", actions[0].line)
    assert actions[1] == OwnerAction("existing_owner", "person-owner", actions[1].line)
    assert isinstance(actions[2], PoolAction)
    assert actions[2].members == (PoolMember("ana"), PoolMember("ben"))
    assert actions[2].require_skills == ("german",)
    assert actions[3] == OwnerAction("owner", "zed", actions[3].line)
    assert actions[4] == QueueAction("review", actions[4].line)
    assert actions[5] == QueueAction("unassigned", 4)  # defaults.fallback last
    assert [a.line for a in actions] == [19, 21, 22, 23, 24, 4]


def test_crm_owner_actions_without_an_owner_carry_none() -> None:
    rules = _rules("  - name: r\n    assign: {account_owner: true}\n    fallback: [{existing_owner: true}]\n")
    actions = rules.plan(_lead(crm=None)).actions
    assert actions[0].owner_id is None and actions[1].owner_id is None
    actions = rules.plan(_lead(crm={"account": {"id": "a", "owner_id": ""}, "person": None})).actions
    assert actions[0].owner_id is None


def test_pool_strategies_and_weights() -> None:
    rules = _rules(
        "  - name: w\n    when: {field: segment.size_band, equals: x}\n    assign: {pool: west}\n"
        "  - name: m\n    assign: {pool: mm}\n"
    )
    west = rules.plan(_lead(segment={"size_band": "x"})).actions[0]
    assert west.strategy == "weighted"
    assert west.members == (PoolMember("cara", 1.0), PoolMember("dan", 3.0))
    mm = rules.plan(_lead()).actions[0]
    assert (mm.strategy, mm.balance_by) == ("load_balanced", "open_load")


def test_skill_from_adds_the_leads_value_as_a_required_skill() -> None:
    head = BASE.replace(
        "    require_skills: [German]\n",
        "    require_skills: [German]\n    skill_from: enrichment.country_code\n",
    )
    rules = _rules("  - name: r\n    assign: {pool: emea}\n", head)
    assert rules.plan(_lead(enrichment={"country_code": "DE"})).actions[0].require_skills == ("german", "de")
    assert rules.plan(_lead(enrichment={})).actions[0].require_skills == ("german",)


def test_repeated_actions_are_dropped_from_the_chain() -> None:
    rules = _rules("  - name: r\n    assign: {queue: unassigned}\n    fallback: [{queue: unassigned}]\n")
    assert [a.queue for a in rules.plan(_lead()).actions] == ["unassigned"]


def test_channel_from_route_or_default() -> None:
    rules = _rules(
        "  - name: n\n    when: {field: segment.score, range: {below: 10}}\n    channel: nurture\n    assign: {queue: nurture}\n"
        "  - name: s\n    assign: {queue: unassigned}\n"
    )
    assert rules.plan(_lead(segment={"score": 3})).channel == "nurture"
    assert rules.plan(_lead(segment={"score": 30})).channel == "sales"


# --- stickiness and fairness ---------------------------------------------------------------------

STICKY = BASE + "stickiness: {new_logo_window: 30d}\nfairness: {returning_owner_credit: 4}\n"


@pytest.mark.parametrize(
    ("crm", "enrichment", "key"),
    [
        (None, {"company_domain": "Acme.com", "email_is_free_mail": False}, "acme.com"),
        ({"account": None}, {"company_domain": "acme.com"}, "acme.com"),
        ({"account": {"id": "a1"}}, {"company_domain": "acme.com"}, None),  # a known account
        (None, {"company_domain": "acme.com", "email_is_free_mail": True}, None),  # free-mail
        (None, {"company_domain": "acme.com", "email_is_disposable": True}, None),
        (None, {"company_domain": None}, None),
        (None, {"company_domain": "  "}, None),
    ],
)
def test_sticky_key(crm: Any, enrichment: dict[str, Any], key: str | None) -> None:
    plan = _rules("  - name: r\n    assign: {pool: emea}\n", STICKY).plan(
        _lead(crm=crm, enrichment=enrichment)
    )
    assert plan.sticky_key == key
    assert plan.sticky_window_s == (30 * 86400 if key else 0)
    assert plan.returning_owner_credit == 4


def test_stickiness_off_by_default() -> None:
    plan = _rules("  - name: r\n    assign: {pool: emea}\n").plan(
        _lead(enrichment={"company_domain": "acme.com"})
    )
    assert plan.sticky_key is None
    assert plan.sticky_window_s == 0
    assert plan.returning_owner_credit == 0


@pytest.mark.parametrize(
    ("window", "seconds"), [("90s", 90), ("30m", 1800), ("12h", 43200), ("2w", 1209600), (3600, 3600)]
)
def test_window_units(window: Any, seconds: int) -> None:
    head = BASE + f"stickiness: {{new_logo_window: {window}}}\n"
    plan = _rules("  - name: r\n    assign: {pool: emea}\n", head).plan(
        _lead(enrichment={"company_domain": "a.io"})
    )
    assert plan.sticky_window_s == seconds


def test_zero_window_is_off() -> None:
    head = BASE + "stickiness: {new_logo_window: 0}\n"
    plan = _rules("  - name: r\n    assign: {pool: emea}\n", head).plan(
        _lead(enrichment={"company_domain": "a.io"})
    )
    assert plan.sticky_key is None


# --- territories and segments on the plan ----------------------------------------------------------


def test_plan_lists_territories_and_segments_in_file_order() -> None:
    head = BASE + (
        "territories:\n  emea: {countries: [DE, GB]}\n  dach: {countries: [DE]}\n  amer: {countries: [US]}\n"
        "segments:\n  hot: {field: segment.score, range: {min: 80}}\n  big: {field: segment.size_band, equals: enterprise}\n"
    )
    plan = _rules("  - name: r\n    assign: {queue: q}\n", head).plan(
        _lead(normalized={"country_code": "DE"}, segment={"score": 90, "size_band": "enterprise"})
    )
    assert plan.territories == ("emea", "dach")
    assert plan.segments == ("hot", "big")


# --- version ---------------------------------------------------------------------------------------


def test_version_is_stable_and_ignores_comments_and_layout() -> None:
    routes = "  - name: r\n    assign: {queue: q}\n"
    first = _rules(routes).version
    assert first == _rules(routes).version
    assert first.startswith("rules@") and len(first) == len("rules@") + 12
    reformatted = "# a comment\n" + BASE.replace(
        "members: [ana, ben]", "members:\n      - ana\n      - 'ben'"
    )
    assert _rules(routes, reformatted).version == first
    assert _rules(routes.replace("q}", "other}")).version != first
    assert _rules(routes).plan(_lead()).rules_version == first


def test_plan_is_deterministic_and_leaves_the_lead_alone() -> None:
    rules = _rules("  - name: r\n    when: {field: segment.size_band, in: [a, b]}\n    assign: {queue: q}\n")
    lead = _lead(segment={"size_band": "b"})
    snapshot = repr(lead)
    assert rules.plan(lead) == rules.plan(lead)
    assert repr(lead) == snapshot
