"""The assign processor: rules → attempts → ledger → one explained event per lead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from processors.assign import assign_many, assignment_id_for
from processors.intake import raw_lead_from_json
from processors.lead import new_lead, stamped
from processors.models import Lead
from processors.owners.memory import StaticOwners
from processors.owners.models import Owner
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from processors.routing.memory_ledger import InMemoryLedger
from tests.support.builders import demo_owners, router, rules

NOW = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday

POOL_RULES = """
version: 1
name: unit
defaults: {channel: sales, fallback: [{queue: overflow}]}
pools:
  team: {strategy: round_robin, members: [amy, bob, cat]}
routes:
  - name: known-account
    when: {exists: crm.account.id}
    channel: ae
    assign: {account_owner: true}
    fallback: [{pool: team}]
  - name: everyone
    assign: {pool: team}
"""


def _lead(lead_id: str, crm: dict[str, Any] | None = None) -> Lead:
    lead = new_lead(
        lead_id, raw_lead_from_json({"email": f"{lead_id}@corp.example"}), received_at_ms=NOW - 50
    )
    lead["crm"] = crm
    return lead


def _decide(
    leads: list[Lead], owners: list[Owner], ledger: InMemoryLedger | None = None, text: str = POOL_RULES
):
    return assign_many(
        leads,
        rules=rules(text),
        owners=StaticOwners(owners),
        ledger=ledger or InMemoryLedger(),
        clock=FrozenClock(NOW),
        last_resort_queue="triage",
    )


TEAM = [Owner("amy"), Owner("bob"), Owner("cat")]


def test_a_pool_route_names_the_owner_route_action_and_version() -> None:
    [event] = _decide([_lead("L1")], TEAM)
    assert event["destination_type"] == "owner"
    assert event["destination"] in {"amy", "bob", "cat"}
    assert event["route"] == "everyone"
    assert event["action"] == "pool team (round_robin)"
    assert event["fallback_depth"] == 0
    assert event["channel"] == "sales"
    assert event["rules_version"] == rules(POOL_RULES).version
    assert event["assignment_id"] == assignment_id_for("L1")
    assert event["decided_at_ms"] == NOW
    assert f"owner {event['destination']}" in event["reason"]


def test_round_robin_spreads_a_batch_over_the_pool() -> None:
    events = _decide([_lead(f"L{i}") for i in range(9)], TEAM)
    counts = {name: sum(e["destination"] == name for e in events) for name in ("amy", "bob", "cat")}
    assert counts == {"amy": 3, "bob": 3, "cat": 3}


def test_the_account_owner_gets_a_lead_at_their_account() -> None:
    crm = {"account": {"id": "A1", "owner_id": "bob"}, "person": None}
    [event] = _decide([_lead("L1", crm)], TEAM)
    assert (event["destination"], event["route"], event["channel"]) == ("bob", "known-account", "ae")
    assert event["action"] == "account owner bob"


def test_an_away_account_owner_is_skipped_with_the_reason_and_the_fallback_recorded() -> None:
    crm = {"account": {"id": "A1", "owner_id": "bob"}, "person": None}
    team = [Owner("amy"), Owner("bob", status="away"), Owner("cat")]
    [event] = _decide([_lead("L1", crm)], team)
    assert event["destination"] in {"amy", "cat"}
    assert event["fallback_depth"] == 1
    assert event["skips"][0] == {"action": "account owner bob", "owner_id": "bob", "reason": "status away"}
    assert any("skipped bob: status away" in line for line in event["decision_path"])
    assert "1 action before it could not place it" in event["reason"]


def test_an_account_without_an_owner_falls_back_and_says_why() -> None:
    crm = {"account": {"id": "A1", "owner_id": None}, "person": None}
    [event] = _decide([_lead("L1", crm)], TEAM)
    assert event["fallback_depth"] == 1
    assert any(
        "not possible: the lead matched no CRM account with an owner" in line
        for line in event["decision_path"]
    )


def test_an_owner_missing_from_the_directory_is_skipped_as_unknown() -> None:
    crm = {"account": {"id": "A1", "owner_id": "zed"}, "person": None}
    [event] = _decide([_lead("L1", crm)], TEAM)
    assert event["skips"][0]["owner_id"] == "zed"
    assert "unknown owner" in event["skips"][0]["reason"]


def test_when_no_one_can_take_the_lead_the_chain_ends_in_the_rules_queue() -> None:
    away = [Owner(name, status="offline") for name in ("amy", "bob", "cat")]
    [event] = _decide([_lead("L1")], away)
    assert (event["destination_type"], event["destination"]) == ("queue", "overflow")
    assert sorted(s["owner_id"] for s in event["skips"]) == ["amy", "bob", "cat"]


def test_a_chain_without_a_queue_ends_in_the_last_resort_queue() -> None:
    text = """
version: 1
defaults: {channel: sales}
pools:
  team: {strategy: round_robin, members: [amy]}
routes:
  - name: only
    assign: {pool: team}
"""
    # A file without defaults.fallback may end its chains without a queue.
    [event] = _decide([_lead("L1")], [Owner("amy", status="away")], text=text)
    assert (event["destination_type"], event["destination"]) == ("queue", "triage")


def test_a_replay_returns_the_first_decision_even_after_the_team_changed() -> None:
    ledger = InMemoryLedger()
    [first] = _decide([_lead("L1")], TEAM, ledger)
    changed = [Owner(o.id, status="offline") if o.id == first["destination"] else o for o in TEAM]
    [again] = _decide([_lead("L1")], changed, ledger)
    assert again["replayed"] is True and first["replayed"] is False
    assert again["destination"] == first["destination"]
    assert again["decided_at_ms"] == first["decided_at_ms"]
    assert {k: v for k, v in again.items() if k not in ("replayed", "decision_path")} == {
        k: v for k, v in first.items() if k not in ("replayed", "decision_path")
    }
    assert again["decision_path"][-1].startswith("replayed")


def test_routes_tried_carry_each_condition_and_the_value_seen() -> None:
    crm = {"account": {"id": "A1", "owner_id": "bob"}, "person": None}
    [event] = _decide([_lead("L1", crm)], TEAM)
    [tried] = event["routes_tried"]
    assert tried["route"] == "known-account" and tried["matched"] is True
    assert tried["conditions"][0]["matched"] is True
    assert tried["conditions"][0]["seen"] == '"A1"'


def test_the_full_chain_routes_a_raw_lead_through_every_stage() -> None:
    clock = FrozenClock(NOW)
    event = route_raw_lead(
        raw_lead_from_json(
            {
                "lead_id": "e2e",
                "email": "greta@bigcorp.de",
                "company": "Bigcorp GmbH",
                "employees": "5000",
                "country": "DE",
                "title": "VP Sales",
                "source": "web",
            }
        ),
        received_at_ms=NOW - 5,
        router=router(clock),
    )
    assert [t["stage"] for t in event["lead"]["trace"]] == [
        "normalize",
        "enrich",
        "match",
        "segment",
        "assign",
    ]
    assert event["lead"]["segment"]["size_band"] == "enterprise"
    assert event["route"] == "emea / dach-enterprise"
    assert event["destination"] in {"greta.schulz", "jonas.berg"}
    assert {"emea", "dach"} <= set(event["territories"])


def test_an_out_of_office_pool_member_is_skipped_in_the_example_emea_pool() -> None:
    clock = FrozenClock(NOW)
    day = datetime(2026, 11, 20, tzinfo=UTC)
    owners = [
        Owner(o.id, out_of_office=((day, datetime(2026, 12, 1, tzinfo=UTC)),)) if o.id == "hugo.martin" else o
        for o in demo_owners()
    ]
    r = router(clock, owners=owners)
    chosen, skipped = [], []
    for index in range(6):
        event = route_raw_lead(
            raw_lead_from_json(
                {
                    "lead_id": f"uk{index}",
                    "email": f"p{index}@bigco{index}.co.uk",
                    "employees": "4000",
                    "country": "GB",
                    "title": "Chief Technology Officer",
                    "source": "web",
                }
            ),
            received_at_ms=NOW,
            router=r,
        )
        assert event["route"] == "emea / enterprise"
        chosen.append(event["destination"])
        skipped += [s for s in event["skips"] if s["owner_id"] == "hugo.martin"]
    assert "hugo.martin" not in chosen
    assert set(chosen) == {"kate.obrien", "greta.schulz"}
    assert skipped and all(s["reason"].startswith("out of office until") for s in skipped)


def test_a_stage_stamps_a_lead_once_and_keeps_its_first_time() -> None:
    lead = stamped(new_lead("d", raw_lead_from_json({"email": "x@y.io"}), received_at_ms=1), "enrich", 10)
    again = stamped(lead, "enrich", 99)
    assert again["trace"] == [{"stage": "enrich", "at_ms": 10}]
    assert stamped(again, "match", 20)["trace"][-1] == {"stage": "match", "at_ms": 20}


def test_expected_shares_split_a_placement_over_the_eligible_members_by_weight() -> None:
    from processors.assign import expected_shares
    from processors.routing.ledger import AssignRequest, AssignResult, Attempt, Candidate, Skip

    request = AssignRequest(
        "L1",
        (
            Attempt(
                "pool",
                "team",
                (Candidate("amy", 1.0), Candidate("bob", 3.0), Candidate("cat", 2.0, skip="status away")),
                "weighted",
            ),
        ),
        NOW,
    )
    placed = AssignResult(False, 0, "bob", (Skip(0, "cat", "status away"),), False, "{}")
    assert expected_shares(request, placed) == {"amy": 0.25, "bob": 0.75}
    capped = AssignResult(False, 0, "amy", (Skip(0, "bob", "daily cap reached (5/5)"),), False, "{}")
    assert expected_shares(request, capped) == {"amy": 1.0}
    assert expected_shares(request, AssignResult(True, 0, "bob", (), False, "{}")) == {}
