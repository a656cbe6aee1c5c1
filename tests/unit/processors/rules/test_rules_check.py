"""``check_rules``: every problem at once, each with a code, a line and a fix-it sentence."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

import pytest

from processors.rules import check_rules, load_rules
from tests.support.paths import REPO

EXAMPLE = REPO / "processors" / "rules" / "data" / "example.yaml"
HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"
ROUTE = "routes:\n  - name: r\n    assign: {queue: q}\n"


def _codes(text: str, owner_ids: list[str] | None = None) -> list[tuple[int | None, str, str]]:
    return [(f.line, f.severity, f.code) for f in check_rules(text, "rules.yaml", owner_ids)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nroutes: [\n", (3, "error", "yaml")),
        ("", (None, "error", "empty_file")),
        (
            "version: 3\ndefaults: {channel: sales, fallback: [{queue: u}]}\n" + ROUTE,
            (1, "error", "unsupported_version"),
        ),
        (HEAD + "extra: 1\n" + ROUTE, (3, "error", "unknown_key")),
        ("version: 1\n" + ROUTE, (1, "error", "missing_key")),
        (HEAD + "fairness: {returning_owner_credit: lots}\n" + ROUTE, (3, "error", "wrong_type")),
        (
            HEAD + "routes:\n  - name: r\n    channel: Sales!\n    assign: {queue: q}\n",
            (5, "error", "invalid_channel"),
        ),
        (HEAD + "territories:\n  'bad name': {countries: [DE]}\n" + ROUTE, (4, "error", "invalid_name")),
        (
            HEAD
            + "routes:\n  - name: r\n    when: {field: segment.sise_band, equals: x}\n    assign: {queue: q}\n",
            (5, "error", "unknown_field"),
        ),
        (HEAD + "routes:\n  - name: r\n    assign: {pool: nope}\n", (5, "error", "unknown_pool")),
        (
            HEAD + "routes:\n  - name: r\n    when: {territory: nope}\n    assign: {queue: q}\n",
            (5, "error", "unknown_territory"),
        ),
        (
            HEAD + "routes:\n  - name: r\n    when: {segment: nope}\n    assign: {queue: q}\n",
            (5, "error", "unknown_segment"),
        ),
        (
            HEAD + "routes:\n  - name: r\n    when: {source: fax}\n    assign: {queue: q}\n",
            (5, "error", "unknown_source"),
        ),
        (
            HEAD
            + "routes:\n  - name: r\n    when: {field: normalized.title, regex: '[a'}\n    assign: {queue: q}\n",
            (5, "error", "invalid_regex"),
        ),
        (
            HEAD
            + "routes:\n  - name: r\n    when: {field: segment.score, range: {min: 5, max: 1}}\n    assign: {queue: q}\n",
            (5, "error", "invalid_range"),
        ),
        (HEAD + "segments:\n  a: {segment: a}\n" + ROUTE, (4, "error", "segment_cycle")),
        (HEAD + "territories:\n  x: {countries: [QQ]}\n" + ROUTE, (4, "error", "unknown_country")),
        (HEAD + "territories:\n  x: {states: [CA]}\n" + ROUTE, (4, "error", "ambiguous_state")),
        (HEAD + "territories:\n  x: {states: [US-QQ]}\n" + ROUTE, (4, "error", "unknown_state")),
        (
            HEAD + "territories:\n  x: {postal_codes: [{from: '2', to: '1'}]}\n" + ROUTE,
            (4, "error", "invalid_postal_range"),
        ),
        (
            HEAD + "pools:\n  p: {members: [a, a]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
            (4, "error", "duplicate_member"),
        ),
        (
            HEAD
            + "pools:\n  p: {strategy: weighted, members: [a]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
            (4, "error", "weighted_without_weights"),
        ),
        (
            HEAD + "pools:\n  p: {members: []}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
            (4, "warning", "empty_pool"),
        ),
        (
            HEAD
            + "pools:\n  p: {members: [{owner: a, weight: 2}]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
            (4, "warning", "weight_ignored"),
        ),
        (
            HEAD
            + "pools:\n  p: {members: [a], balance_by: open_load}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
            (4, "warning", "balance_by_ignored"),
        ),
        (HEAD + "pools:\n  p: {members: [a]}\n" + ROUTE, (4, "warning", "unused_pool")),
        (
            HEAD + "queues: [unassigned]\nroutes:\n  - name: r\n    assign: {queue: triage}\n",
            (6, "warning", "unknown_queue"),
        ),
        (
            "version: 1\ndefaults: {channel: sales}\n" + ROUTE.replace("queue: q", "owner: x"),
            (2, "warning", "no_default_queue"),
        ),
        (
            HEAD + "routes:\n  - name: r\n    assign: {queue: q}\n  - name: s\n    assign: {queue: q}\n",
            (6, "warning", "unreachable_route"),
        ),
        (
            HEAD
            + "routes:\n  - name: a\n    assign: {queue: q}\n  - name: a\n    when: {exists: crm.account.id}\n    assign: {queue: q}\n",
            (6, "error", "duplicate_route"),
        ),
    ],
)
def test_each_code(text: str, expected: tuple[int | None, str, str]) -> None:
    assert expected in _codes(text)


def test_every_finding_ends_with_a_fix() -> None:
    text = (
        HEAD + "pools:\n  p: {strategy: weighted, members: []}\nroutes:\n  - name: r\n    assign: {pool: q}\n"
    )
    for finding in check_rules(text, "rules.yaml"):
        assert finding.message.endswith((".", "?")), finding
        assert str(finding).startswith(f"rules.yaml:{finding.line}: ")


def test_check_reports_every_problem_not_just_the_first() -> None:
    text = (
        HEAD
        + "routes:\n"
        + "  - name: a\n    when: {segment: nope}\n    assign: {queue: q}\n"
        + "  - name: b\n    channel: BAD\n    assign: {queue: q}\n"
        + "  - name: c\n    when: {field: crm.acount.id, exists: true}\n    assign: {pool: nowhere}\n"
    )
    codes = [code for _, _, code in _codes(text)]
    assert codes == ["unknown_segment", "invalid_channel", "unknown_field", "unknown_pool"]


def test_a_malformed_part_does_not_cascade() -> None:
    # The pool is malformed; routes using it must not also report "unknown pool".
    text = HEAD + "pools:\n  p: {strategy: nope, members: [a]}\nroutes:\n  - name: r\n    assign: {pool: p}\n"
    assert [code for _, _, code in _codes(text)] == ["invalid_value"]


def test_unreachable_inside_groups_and_after_catch_all_groups() -> None:
    text = HEAD + (
        "routes:\n"
        "  - group: g\n    when: {exists: crm.account.id}\n    routes:\n"
        "      - name: any-account\n        assign: {account_owner: true}\n"
        "      - name: never\n        when: {field: crm.account.tier, equals: gold}\n        assign: {queue: q}\n"
        "  - group: h\n    routes:\n      - name: all\n        assign: {queue: q}\n"
        "  - name: dead\n    assign: {queue: q}\n"
    )
    found = [(line, code) for line, _, code in _codes(text) if code == "unreachable_route"]
    assert found == [(9, "unreachable_route"), (16, "unreachable_route")]


def test_a_group_without_when_but_no_catch_all_does_not_hide_later_routes() -> None:
    text = HEAD + (
        "routes:\n  - group: h\n    routes:\n      - name: a\n        when: {exists: crm.account.id}\n"
        "        assign: {queue: q}\n  - name: b\n    assign: {queue: q}\n"
    )
    assert "unreachable_route" not in [code for _, _, code in _codes(text)]


def test_owner_checks() -> None:
    text = HEAD + (
        "pools:\n  p: {members: [ana.ruiz, ben.okafr]}\n"
        "routes:\n  - name: r\n    assign: {pool: p}\n    fallback: [{owner: zed}]\n"
    )
    findings = check_rules(text, "rules.yaml", owner_ids=["ana.ruiz", "ben.okafor", "carla.mendes"])
    unknown = [f for f in findings if f.code == "unknown_owner"]
    assert [(f.line, f.severity) for f in unknown] == [(4, "error"), (8, "error")]
    assert "Did you mean 'ben.okafor'?" in unknown[0].message
    idle = [f for f in findings if f.code == "owner_in_no_pool"]
    assert [f.severity for f in idle] == ["warning", "warning"]
    assert {f.message.split("'")[1] for f in idle} == {"ben.okafor", "carla.mendes"}


def test_no_owner_checks_without_owner_ids() -> None:
    text = HEAD + "pools:\n  p: {members: [ghost]}\nroutes:\n  - name: r\n    assign: {pool: p}\n"
    assert _codes(text) == []


def test_ruleset_check_after_load() -> None:
    rules = load_rules(HEAD + "pools:\n  p: {members: [a]}\n" + ROUTE, "rules.yaml")
    assert [f.code for f in rules.check()] == ["unused_pool"]
    assert {f.code for f in rules.check(owner_ids=["b"])} == {
        "unused_pool",
        "unknown_owner",
        "owner_in_no_pool",
    }


def test_the_example_is_clean_for_its_owners() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    rules = load_rules(text, "example.yaml")
    owners = {owner for owner, _, _ in rules.owner_refs}
    assert 12 <= len(owners) <= 20
    assert check_rules(text, "example.yaml", owner_ids=owners) == []
