"""Duplicate submissions: a lead repeating a recently routed one follows it, or goes where the rules say."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from processors.intake import raw_lead_from_json
from processors.models import Assignment
from processors.normalize.lead import normalize_lead
from processors.owners.models import Owner
from processors.pipeline import route_raw_leads
from processors.ports import FrozenClock
from processors.routing.duplicates import identities, later_in_batch
from processors.routing.memory_ledger import InMemoryLedger
from tests.support.builders import router, rules

NOW = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)
WINDOW = 30 * 86_400
TEAM = [Owner("amy"), Owner("bob"), Owner("cat")]

ROUND_ROBIN = """
version: 1
defaults: {channel: sales, fallback: [{queue: overflow}]}
pools:
  team: {strategy: round_robin, members: [amy, bob, cat]}
routes:
  - name: everyone
    assign: {pool: team}
"""

TO_A_QUEUE = """
version: 1
defaults: {channel: sales, fallback: [{queue: overflow}]}
duplicates: {follow_first_owner: false}
pools:
  team: {strategy: round_robin, members: [amy, bob, cat]}
routes:
  - name: duplicates
    when: {exists: duplicate.lead_id}
    assign: {queue: duplicates}
  - name: everyone
    assign: {pool: team}
"""


def _normalized(**fields: Any) -> dict[str, Any]:
    return dict(normalize_lead(raw_lead_from_json(fields)))


def test_identities_are_email_phone_and_name_at_company_as_digests() -> None:
    found = identities(
        {
            "normalized": _normalized(
                email="Jane.Doe@Acme.example",
                phone="+44 20 7946 0958",
                first_name="Jane",
                last_name="Doe",
                company="Acme Ltd",
            )
        }
    )
    assert [key.partition(":")[0] for key in found] == ["email", "phone", "name_company"]
    assert not any("jane" in key.lower() or "acme" in key.lower() for key in found)  # no personal data
    same = identities({"normalized": _normalized(email="jane.doe@acme.example", company="ACME Limited")})
    assert same[0] == found[0]


def test_a_name_needs_a_company_and_a_phone_must_be_valid() -> None:
    assert identities({"normalized": _normalized(first_name="Jane", last_name="Doe")}) == ()
    assert identities({"normalized": _normalized(phone="12")}) == ()
    assert identities({"normalized": None}) == ()


def test_later_in_batch_waits_only_for_an_earlier_different_lead() -> None:
    batch = [("a", ("email:1",)), ("b", ("email:2",)), ("c", ("phone:9", "email:1")), ("a", ("email:1",))]
    assert later_in_batch(batch) == [False, False, True, False]


def _route(
    text: str, people: Sequence[dict[str, Any]], ledger: InMemoryLedger | None = None
) -> list[Assignment]:
    chain = dataclasses.replace(
        router(FrozenClock(NOW), rule_set=rules(text), owners=TEAM, ledger=ledger or InMemoryLedger()),
        duplicate_window_s=WINDOW,
    )
    raws = [(raw_lead_from_json(person), NOW) for person in people]
    return route_raw_leads(raws, router=chain)


JANE = {"email": "jane@acme.example", "first_name": "Jane", "last_name": "Doe", "company": "Acme"}


def test_a_double_submit_in_one_batch_goes_to_the_first_leads_owner() -> None:
    first, other, again = _route(
        ROUND_ROBIN,
        [
            {"lead_id": "l1", **JANE},
            {"lead_id": "l2", "email": "max@else.example"},
            {"lead_id": "l3", **JANE},
        ],
    )
    assert not first["is_duplicate"] and first["duplicate_of"] is None
    assert other["destination"] != first["destination"]  # round robin moved on
    assert again["is_duplicate"] and again["destination"] == first["destination"]
    assert again["duplicate_of"] == {
        "lead_id": "l1",
        "matched_on": "email",
        "owner_id": first["destination"],
        "routed_at_ms": NOW,
    }
    assert again["action"] == f"first lead's owner {first['destination']}"
    assert any("first lead's owner" in line for line in again["decision_path"])


def test_a_duplicate_in_a_later_batch_by_phone_or_name_and_company() -> None:
    ledger = InMemoryLedger()
    (first,) = _route(ROUND_ROBIN, [{"lead_id": "l1", **JANE, "phone": "+44 20 7946 0958"}], ledger)
    by_phone, by_name = _route(
        ROUND_ROBIN,
        [
            {"lead_id": "l2", "phone": "020 7946 0958", "country": "GB"},
            {"lead_id": "l3", "first_name": "JANE", "last_name": "doe", "company": "Acme Inc."},
        ],
        ledger,
    )
    assert by_phone["duplicate_of"] is not None and by_phone["duplicate_of"]["matched_on"] == "phone"
    assert by_name["duplicate_of"] is not None and by_name["duplicate_of"]["matched_on"] == "name_company"
    assert by_phone["destination"] == by_name["destination"] == first["destination"]


def test_an_away_first_owner_is_skipped_and_the_route_decides() -> None:
    ledger = InMemoryLedger()
    (first,) = _route(ROUND_ROBIN, [{"lead_id": "l1", **JANE}], ledger)
    away = [dataclasses.replace(o, status="away") if o.id == first["destination"] else o for o in TEAM]
    chain = dataclasses.replace(
        router(FrozenClock(NOW), rule_set=rules(ROUND_ROBIN), owners=away, ledger=ledger),
        duplicate_window_s=WINDOW,
    )
    (again,) = route_raw_leads([(raw_lead_from_json({"lead_id": "l2", **JANE}), NOW)], router=chain)
    assert again["is_duplicate"] and again["destination"] != first["destination"]
    assert again["skips"][0]["reason"] == "status away" and again["fallback_depth"] == 1


def test_the_rules_can_send_duplicates_to_a_queue() -> None:
    first, again = _route(TO_A_QUEUE, [{"lead_id": "l1", **JANE}, {"lead_id": "l2", **JANE}])
    assert first["route"] == "everyone" and first["destination_type"] == "owner"
    assert again["route"] == "duplicates" and again["destination"] == "duplicates" and again["is_duplicate"]


def test_a_replayed_duplicate_keeps_its_first_decision() -> None:
    ledger = InMemoryLedger()
    first = _route(ROUND_ROBIN, [{"lead_id": "l1", **JANE}, {"lead_id": "l2", **JANE}], ledger)
    again = _route(ROUND_ROBIN, [{"lead_id": "l2", **JANE}, {"lead_id": "l1", **JANE}], ledger)
    assert [e["replayed"] for e in again] == [True, True]
    assert again[0]["duplicate_of"] == first[1]["duplicate_of"] and again[1]["duplicate_of"] is None
    assert again[0]["destination"] == first[1]["destination"]


def test_with_no_window_nothing_is_a_duplicate() -> None:
    chain = router(FrozenClock(NOW), rule_set=rules(ROUND_ROBIN), owners=TEAM)
    raws = [(raw_lead_from_json({"lead_id": f"l{n}", **JANE}), NOW) for n in (1, 2)]
    assert [e["is_duplicate"] for e in route_raw_leads(raws, router=chain)] == [False, False]


def test_a_duplicate_window_ends() -> None:
    ledger = InMemoryLedger()
    _route(ROUND_ROBIN, [{"lead_id": "l1", **JANE}], ledger)
    later = NOW + (WINDOW + 1) * 1000
    chain = dataclasses.replace(
        router(FrozenClock(later), rule_set=rules(ROUND_ROBIN), owners=TEAM, ledger=ledger),
        duplicate_window_s=WINDOW,
    )
    (event,) = route_raw_leads([(raw_lead_from_json({"lead_id": "l2", **JANE}), later)], router=chain)
    assert not event["is_duplicate"]
