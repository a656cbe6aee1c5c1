from __future__ import annotations

from processors.assign import DefaultQueuePolicy, assign, assignment_id_for
from processors.crm.matcher import Matcher
from processors.crm.memory import InMemoryCrmMirror
from processors.intake import raw_lead_from_json
from processors.pipeline import Router, route_raw_lead
from processors.ports import FrozenClock, InMemoryAssignmentStore
from tests.enrichers import shipped_enricher

POLICY = DefaultQueuePolicy("triage", "sales")


def _router(clock: FrozenClock) -> Router:
    return Router(
        POLICY, InMemoryAssignmentStore(), clock, shipped_enricher(), Matcher(), InMemoryCrmMirror()
    )


def test_every_lead_goes_to_the_default_queue_with_a_reason() -> None:
    clock = FrozenClock(1_000)
    event = route_raw_lead(
        raw_lead_from_json({"lead_id": "a", "email": "x@y.io"}), received_at_ms=900, router=_router(clock)
    )
    assert (event["destination_type"], event["destination"], event["channel"]) == ("queue", "triage", "sales")
    assert "triage" in event["reason"]
    assert event["decision_path"]
    assert event["assignment_id"] == assignment_id_for("a")
    assert [t["stage"] for t in event["lead"]["trace"]] == [
        "normalize",
        "enrich",
        "match",
        "segment",
        "assign",
    ]


def test_a_replay_repeats_the_first_decision() -> None:
    clock = FrozenClock(1_000)
    router = _router(clock)
    raw = raw_lead_from_json({"lead_id": "b", "email": "x@y.io"})
    first = route_raw_lead(raw, received_at_ms=900, router=router)
    clock.advance(60_000)
    second = route_raw_lead(raw, received_at_ms=900, router=router)
    assert second["replayed"] is True and first["replayed"] is False
    assert second["decided_at_ms"] == first["decided_at_ms"] == 1_000


def test_policy_version_changes_with_the_policy() -> None:
    assert POLICY.version == DefaultQueuePolicy("triage", "sales").version
    assert POLICY.version != DefaultQueuePolicy("triage", "sdr").version


def test_assign_keeps_the_current_lead_on_a_replayed_event() -> None:
    clock, store = FrozenClock(5), InMemoryAssignmentStore()
    lead = route_raw_lead(
        raw_lead_from_json({"lead_id": "c", "email": "x@y.io"}),
        received_at_ms=1,
        router=Router(POLICY, store, clock, shipped_enricher(), Matcher(), InMemoryCrmMirror()),
    )["lead"]
    again = assign(lead, policy=POLICY, store=store, clock=clock)
    assert again["lead"] is lead


def test_a_stage_stamps_a_lead_once_and_keeps_its_first_time() -> None:
    from processors.lead import new_lead, stamped

    lead = stamped(new_lead("d", raw_lead_from_json({"email": "x@y.io"}), received_at_ms=1), "enrich", 10)
    again = stamped(lead, "enrich", 99)
    assert again["trace"] == [{"stage": "enrich", "at_ms": 10}]
    assert stamped(again, "match", 20)["trace"][-1] == {"stage": "match", "at_ms": 20}
