"""Routing in words: the values an event shows, and a plan as a person reads it.

The event's reason and decision path are checked whole, through the assignment step,
in ``tests/unit/processors/routing/test_assign.py``.
"""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

import json
from typing import Any

import pytest

from processors.rules import explain_lines, explain_tree, load_rules
from processors.rules.explain import seen_text

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
"""


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


def _rules(routes: str, head: str = BASE) -> Any:
    return load_rules(head + "routes:\n" + routes, "rules.yaml")


# --- the decision: values seen, as the event shows them ------------------------------------------


@pytest.mark.parametrize(
    "seen",
    ['a"b', "é\u2028\n", "x" * 300, True, False, 3, 10**30, 2.5, ["a", 1], ("a", 'b"'), (), ["é"],
     ("x" * 150, "y" * 100), {"k": "v"}, float("nan")],
)  # fmt: skip
def test_values_seen_read_as_their_json_cut_to_200_characters(seen: object) -> None:
    text = json.dumps(seen, ensure_ascii=False, default=str, separators=(",", ":"))
    assert seen_text(seen) == (text if len(text) <= 200 else text[:199] + "…")


def test_equal_values_of_different_types_keep_their_own_text() -> None:
    texts = [seen_text(seen) for seen in (1, True, 1.0, 1, True)]
    assert texts == ["1", "true", "1.0", "1", "true"]


# --- the plan, for a person ----------------------------------------------------------------------


def test_explain_lines() -> None:
    rules = _rules(
        "  - name: disqualify\n    when: {any: [{field: enrichment.email_is_disposable, equals: true},"
        " {field: enrichment.seniority, equals: intern}]}\n    channel: disqualified\n    assign: {queue: disqualified}\n"
        "  - group: accounts\n    when: {exists: crm.account.id}\n    routes:\n"
        "      - name: strategic\n        when: {field: crm.account.tier, equals: strategic}\n        assign: {account_owner: true}\n"
        "  - name: catch-all\n    assign: {pool: emea}\n"
    )
    plan = rules.plan(
        _lead(
            enrichment={"email_is_disposable": False, "seniority": "vp"},
            crm={"account": {"id": "a1", "tier": "gold"}},
        )
    )
    assert explain_lines(plan) == [
        "route 'disqualify': no (enrichment.email_is_disposable equals true: saw false → no; "
        "enrichment.seniority equals intern: saw vp → no)",
        "group 'accounts': yes (crm.account.id exists: saw a1 → yes)",
        "route 'accounts / strategic': no (crm.account.tier equals strategic: saw gold → no)",
        "group 'accounts': no route inside matched, continuing after it",
        "route 'catch-all': yes (no conditions)",
        "→ route 'catch-all' on channel sales: pool emea (round_robin, 2 members, skills german), then queue unassigned",
    ]


def test_explain_lines_when_nothing_matches_and_with_facts() -> None:
    head = BASE + "territories:\n  dach: {countries: [DE]}\nstickiness: {new_logo_window: 1d}\n"
    rules = _rules(
        "  - name: a\n    when: {field: segment.size_band, equals: smb}\n    assign: {queue: q}\n", head
    )
    lines = explain_lines(
        rules.plan(_lead(normalized={"country_code": "DE"}, enrichment={"company_domain": "x.de"}))
    )
    assert lines[0] == "lead is in territories dach"
    assert lines[-2] == "→ no route matched; defaults: channel sales: queue unassigned"
    assert lines[-1] == "new-logo stickiness on x.de for 86400s"


def test_explain_tree_nests_groups() -> None:
    rules = _rules(
        "  - group: g\n    routes:\n      - name: a\n        when: {exists: crm.account.id}\n        assign: {queue: q}\n"
        "      - group: h\n        routes:\n          - name: b\n            assign: {queue: q2}\n"
    )
    tree = explain_tree(rules.plan(_lead()))
    assert [(n.name, n.kind, n.matched) for n in tree] == [("g", "group", True)]
    assert [(n.name, n.kind) for n in tree[0].children] == [("a", "route"), ("h", "group")]
    (b,) = tree[0].children[1].children
    assert (b.full_name, b.chosen) == ("g / h / b", True)
    assert tree[0].children[0].conditions == ("crm.account.id exists: saw nothing → no",)
