"""A decision recovered from its event replays exactly as the first decision read."""

from __future__ import annotations

from typing import Any

from processors.assign import assignment_from, rebuilt_meta
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from processors.routing.ledger import AssignResult
from processors.rules.explain import REPLAYED_LINE
from tests.support.builders import router


def _first() -> tuple[dict[str, Any], Any]:
    clock = FrozenClock(1_796_000_000_000)
    raw: Any = {"lead_id": "L-1", "email": "ana.kowalski@example.de", "country": "DE", "source": "web"}
    return dict(route_raw_lead(raw, received_at_ms=clock.now_ms(), router=router(clock))), raw


def test_a_rebuilt_decision_keeps_owner_reason_and_path() -> None:
    first, _ = _first()
    lead = {**first["lead"], "received_at_ms": first["lead"]["received_at_ms"] + 5_000}
    replayed = AssignResult(True, first["fallback_depth"], first["destination"], (), first["sticky"], "")
    again = assignment_from(lead, rebuilt_meta(first), replayed)
    assert again["replayed"] is True
    assert again["lead"] is lead, "the redelivered lead rides on the event, not the first one"
    assert again["decision_path"] == [*first["decision_path"], REPLAYED_LINE]
    for field in ("destination_type", "destination", "reason", "route", "action", "channel", "skips"):
        assert again[field] == first[field], field


def test_a_rebuilt_decision_replayed_twice_says_so_once() -> None:
    first, _ = _first()
    replayed = AssignResult(True, 0, first["destination"], (), False, "")
    once = assignment_from(first["lead"], rebuilt_meta(first), replayed)
    twice = assignment_from(first["lead"], rebuilt_meta(once), replayed)
    assert twice["decision_path"].count(REPLAYED_LINE) == 1
