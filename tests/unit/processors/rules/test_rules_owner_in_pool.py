"""``owner_in_pool``: is the matched CRM record's owner a member of a pool of this file?"""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from processors.config import ConfigError
from processors.crm.memory import InMemoryCrmMirror
from processors.intake import raw_lead_from_json
from processors.owners.models import Owner
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from processors.rules import check_rules, explain_lines, load_rules
from tests.support.builders import router

HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"
POOLS = "pools:\n  emea-team: {members: [ana, ben]}\n  amer-team: {members: [cat]}\n"


def _text(spec: str, pools: str = POOLS) -> str:
    return (
        HEAD
        + pools
        + f"routes:\n  - name: probe\n    when:\n      owner_in_pool: {spec}\n    assign: {{pool: emea-team}}\n"
        "  - name: rest\n    assign: {pool: amer-team}\n"
    )


def _lead(account_owner: Any = None, person_owner: Any = None) -> dict[str, Any]:
    crm = {
        "account": None if account_owner is None else {"id": "acc", "owner_id": account_owner},
        "person": None if person_owner is None else {"id": "p", "owner_id": person_owner},
    }
    return {"lead_id": "l", "received_at_ms": 0, "raw": {}, "normalized": {}, "crm": crm}


@pytest.mark.parametrize(
    ("spec", "lead", "expected"),
    [
        ("{owner: account_owner, pool: emea-team}", _lead("ana"), "probe"),
        ("{owner: account_owner, pool: emea-team}", _lead("cat"), "rest"),
        ("{owner: account_owner, pool: emea-team}", _lead("ANA"), "rest"),  # ids compare exactly
        ("{owner: account_owner, pool: emea-team}", _lead(None, "ana"), "rest"),
        ("{owner: existing_owner, pool: emea-team}", _lead(None, "ben"), "probe"),
        ("{owner: existing_owner, pool: emea-team}", _lead("ben", "zed"), "rest"),
        ("{owner: account_owner, pool: [amer-team, emea-team]}", _lead("cat"), "probe"),
        ("{owner: account_owner, pool: emea-team}", {"lead_id": "l", "crm": None}, "rest"),
    ],
)
def test_the_owner_is_looked_up_among_the_pool_members(
    spec: str, lead: dict[str, Any], expected: str
) -> None:
    assert load_rules(_text(spec), "t.yaml").plan(lead).route == expected


LEFT_THE_TEAM = (
    HEAD + POOLS + "routes:\n"
    "  - name: owner-left-emea\n"
    "    when:\n"
    "      all:\n"
    "        - {exists: crm.account.owner_id}\n"
    "        - not: {owner_in_pool: {owner: account_owner, pool: emea-team}}\n"
    "    assign: {pool: emea-team}\n"
    "  - name: account-owner\n"
    "    assign: {account_owner: true}\n"
    "    fallback: [{pool: amer-team}]\n"
)


def test_a_record_whose_owner_left_the_team_is_rerouted_and_explained() -> None:
    rules = load_rules(LEFT_THE_TEAM, "t.yaml")
    gone = rules.plan(_lead("zed"))
    assert gone.route == "owner-left-emea"
    assert explain_lines(gone)[0] == (
        "route 'owner-left-emea': yes (crm.account.owner_id exists: saw zed → yes; "
        "account owner (crm.account.owner_id) in pool emea-team: saw zed → no; "
        "not (account owner (crm.account.owner_id) in pool emea-team): saw false → yes)"
    )
    stays = rules.plan(_lead("ben"))
    assert stays.route == "account-owner"
    [_, inside, _] = stays.trace[0].conditions
    assert (inside.description, inside.seen, inside.matched) == (
        "account owner (crm.account.owner_id) in pool emea-team",
        "ben",
        True,
    )
    assert rules.plan(_lead()).route == "account-owner"  # no owner at all: not re-routed


def test_a_pool_named_only_by_owner_in_pool_is_not_unused() -> None:
    pools = POOLS + "  team-list: {members: [ana]}\n"
    found = check_rules(_text("{owner: account_owner, pool: team-list}", pools), "t.yaml")
    assert [f.code for f in found] == []


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            "{owner: account_owner, pool: emea-taem}",
            "rules.yaml:9: pool 'emea-taem' is not defined. Did you mean 'emea-team'?",
        ),
        ("{owner: account_owner, pool: [amer-team, nope]}", "rules.yaml:9: pool 'nope' is not defined."),
        (
            "{owner: account, pool: emea-team}",
            "rules.yaml:9: the text 'account' is not allowed in route 'probe'. Did you mean 'account_owner'?",
        ),
        ("{owner: account_owner}", "rules.yaml:9: `pool:` missing in route 'probe'."),
        ("{pool: emea-team}", "rules.yaml:9: `owner:` missing in route 'probe'."),
        ("{owner: account_owner, pool: emea-team, team: x}", "rules.yaml:9: unknown key 'team'"),
    ],
)
def test_bad_owner_in_pool_is_refused_with_file_line_and_a_fix(spec: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(_text(spec), "rules.yaml")
    assert str(caught.value).startswith(words)


def test_rules_check_reports_unknown_and_empty_pools() -> None:
    found = [
        (f.line, f.severity, f.code)
        for f in check_rules(_text("{owner: account_owner, pool: nope}"), "r.yaml")
    ]
    assert found == [(9, "error", "unknown_pool")]
    pools = POOLS + "  nobody: {members: []}\n"
    found = [
        (f.line, f.severity, f.code)
        for f in check_rules(_text("{owner: account_owner, pool: nobody}", pools), "r.yaml")
    ]
    assert (10, "warning", "empty_pool") in found  # the condition's own warning: it never holds


NOW = int(datetime(2026, 12, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday


def test_the_batch_router_reroutes_an_account_whose_owner_left_the_team() -> None:
    mirror = InMemoryCrmMirror()
    for account_id, domain, owner in (("acc-1", "gonecorp.de", "zed"), ("acc-2", "keptcorp.de", "ben")):
        mirror.upsert(
            "account",
            {
                "id": account_id, "name": domain, "domains": [domain], "website": None, "owner_id": owner,
                "parent_id": None, "employees": 100, "industry": None, "country_code": "DE", "type": "customer",
                "tier": None, "last_activity_ms": None,
            },
        )  # fmt: skip
    team = [Owner("ana"), Owner("ben"), Owner("cat"), Owner("zed")]
    r = router(FrozenClock(NOW), rule_set=load_rules(LEFT_THE_TEAM, "t.yaml"), owners=team, mirror=mirror)
    gone = route_raw_lead(
        raw_lead_from_json({"lead_id": "g", "email": "jo@gonecorp.de"}), received_at_ms=NOW, router=r
    )
    assert gone["lead"]["crm"]["account"]["owner_id"] == "zed"
    assert gone["route"] == "owner-left-emea"
    assert gone["destination"] in {"ana", "ben"}
    assert any('in pool emea-team: saw "zed" → no' in line for line in gone["decision_path"])
    kept = route_raw_lead(
        raw_lead_from_json({"lead_id": "k", "email": "jo@keptcorp.de"}), received_at_ms=NOW, router=r
    )
    assert (kept["route"], kept["destination"], kept["action"]) == (
        "account-owner",
        "ben",
        "account owner ben",
    )
