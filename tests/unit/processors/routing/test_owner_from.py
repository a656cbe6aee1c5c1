"""``owner_from``: a lead field names its owner (a partner naming its rep), checked against the directory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processors.assign import assign_many
from processors.config import ConfigError
from processors.intake import raw_lead_from_json
from processors.lead import new_lead
from processors.models import Lead
from processors.owners.memory import StaticOwners
from processors.owners.models import Owner
from processors.ports import FrozenClock
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import explain_lines, load_rules

NOW = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday

RULES = """
version: 1
defaults: {channel: sales, fallback: [{queue: unassigned}]}
pools:
  partners: {members: [pia, raj]}
routes:
  - name: partner-referral
    when: {field: raw.source, equals: partner}
    assign: {owner_from: raw.custom.partner_rep_email}
    fallback: [{pool: partners}]
  - name: everyone
    assign: {queue: inbound}
"""

TEAM = [
    Owner("pia", email="Pia.Lund@corp.example"),
    Owner("raj", email="raj@corp.example"),
    Owner("sam", email="sam@corp.example", status="away"),
]


def _lead(lead_id: str, rep: object = None, source: str = "partner") -> Lead:
    payload: dict[str, object] = {"email": f"{lead_id}@buyer.example", "source": source}
    if rep is not None:
        payload["partner_rep_email"] = rep
    return new_lead(lead_id, raw_lead_from_json(payload), received_at_ms=NOW - 50)


def _decide(leads: list[Lead], owners: list[Owner] = TEAM, text: str = RULES):
    return assign_many(
        leads,
        rules=load_rules(text, "rules.yaml"),
        owners=StaticOwners(owners),
        ledger=InMemoryLedger(),
        clock=FrozenClock(NOW),
        last_resort_queue="triage",
    )


@pytest.mark.parametrize(
    ("named", "owner"),
    [
        ("raj", "raj"),  # an owner id
        ("pia.lund@corp.example", "pia"),  # an e-mail, in any case
        ("  RAJ@CORP.EXAMPLE ", "raj"),
    ],
)
def test_the_owner_the_lead_names_gets_it(named: str, owner: str) -> None:
    [event] = _decide([_lead("L1", named)])
    assert (event["destination"], event["fallback_depth"]) == (owner, 0)
    assert event["action"] == f"owner named by raw.custom.partner_rep_email {owner}"
    assert event["route"] == "partner-referral"


@pytest.mark.parametrize("named", [None, "", "   ", "nobody@corp.example", "zed"])
def test_a_lead_naming_no_known_owner_falls_back_and_says_why(named: str | None) -> None:
    [event] = _decide([_lead("L1", named)])
    assert event["destination"] in {"pia", "raj"}
    assert event["fallback_depth"] == 1
    assert event["skips"] == []  # an unknown name is not an owner to skip: nothing to count by owner id
    assert any(
        "not possible: raw.custom.partner_rep_email is empty or names no owner in the directory" in line
        for line in event["decision_path"]
    )
    if named and named.strip():
        assert all(named.strip() not in line for line in event["decision_path"])


def test_an_email_two_owners_share_names_nobody() -> None:
    twins = [*TEAM, Owner("pia2", email="pia.lund@corp.example")]
    [event] = _decide([_lead("L1", "pia.lund@corp.example")], twins)
    assert event["fallback_depth"] == 1


def test_the_named_owner_is_skipped_like_any_owner_when_unavailable() -> None:
    [event] = _decide([_lead("L1", "sam@corp.example")])
    assert event["fallback_depth"] == 1
    assert event["skips"][0] == {
        "action": "owner named by raw.custom.partner_rep_email sam",
        "owner_id": "sam",
        "reason": "status away",
    }


def test_each_lead_is_looked_up_on_its_own_in_one_batch() -> None:
    events = _decide([_lead("L1", "raj"), _lead("L2", "pia.lund@corp.example"), _lead("L3", "zed")])
    assert [event["destination"] for event in events][:2] == ["raj", "pia"]
    assert events[2]["fallback_depth"] == 1


def test_explain_shows_the_field_and_the_text_it_holds() -> None:
    plan = load_rules(RULES, "rules.yaml").plan(_lead("L1", "raj"))
    assert "owner named by raw.custom.partner_rep_email raj" in explain_lines(plan)[-1]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("{owner_from: raw.custom}", "'raw.custom' holds a map, not one text"),
        ("{owner_from: crm.open_opportunities.owner_id}", "holds a list of values, not one text"),
        ("{owner_from: raw.emial}", "'raw.emial' is not a field of a lead. Did you mean 'raw.email'?"),
        ("{owner_from: 42}", "Write the field's path"),
    ],
)
def test_a_field_that_cannot_name_an_owner_is_refused_at_load(action: str, message: str) -> None:
    text = RULES.replace("{owner_from: raw.custom.partner_rep_email}", action)
    with pytest.raises(ConfigError) as refused:
        load_rules(text, "rules.yaml")
    assert message in str(refused.value)
    assert "rules.yaml:9" in str(refused.value)
