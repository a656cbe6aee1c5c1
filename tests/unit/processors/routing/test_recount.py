"""Owners' counts recounted from assignment events, in each owner's own hour, day and week."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from processors.owners.models import Owner
from processors.routing.recount import Recount

# Wednesday 2026-12-09 15:30 UTC = 16:30 in Berlin.
NOW = int(datetime(2026, 12, 9, 15, 30, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def event(lead_id: str, owner: str, at_ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id, "destination_type": "owner", "destination": owner, "decided_at_ms": at_ms,
        "replayed": False, "action": "pool emea (round_robin)",
    } | fields  # fmt: skip


def test_each_first_decision_counts_in_the_buckets_it_shares_with_now() -> None:
    recount = Recount({"ana": Owner("ana", "Ana", time_zone="Europe/Berlin")}, NOW)
    for item in (
        event("same-hour", "ana", NOW - 10 * 60_000),
        event("earlier-today", "ana", NOW - 5 * HOUR, action="account owner ana"),
        event("monday", "ana", NOW - 40 * HOUR),
        event("last-week", "ana", NOW - 6 * 24 * HOUR),
    ):
        recount.add(item)
    counts = recount.counts["ana"]
    assert (counts.hour, counts.day, counts.week) == ("2026-12-09T16", "2026-12-09", "2026-W50")
    assert (counts.hour_n, counts.day_n, counts.week_n) == (1, 2, 3)
    assert (counts.day_pool, counts.week_pool) == (1, 2), "only pool placements count for fairness"


def test_the_owner_local_day_decides_not_utc() -> None:
    # At noon UTC on the 9th, 23:30 UTC on the 8th was already the 9th in Tokyo: today for a
    # Tokyo owner, yesterday for a UTC one.
    noon = int(datetime(2026, 12, 9, 12, 0, tzinfo=UTC).timestamp() * 1000)
    late = int(datetime(2026, 12, 8, 23, 30, tzinfo=UTC).timestamp() * 1000)
    owners = {"kei": Owner("kei", "Kei", time_zone="Asia/Tokyo"), "uma": Owner("uma", "Uma")}
    recount = Recount(owners, noon)
    recount.add(event("a", "kei", late))
    recount.add(event("b", "uma", late))
    assert recount.counts["kei"].day_n == 1
    assert recount.counts["uma"].day_n == 0


def test_replays_queues_repeats_and_removed_owners_do_not_count() -> None:
    recount = Recount({"ana": Owner("ana", "Ana")}, NOW)
    recount.add(event("L1", "ana", NOW - 60_000))
    recount.add(event("L1", "ana", NOW - 30_000))  # the same lead delivered twice
    recount.add(event("L2", "ana", NOW - 60_000, replayed=True))
    recount.add(event("L3", "triage", NOW - 60_000, destination_type="queue"))
    recount.add(event("L4", "gone", NOW - 60_000))
    assert set(recount.counts) == {"ana"}
    assert recount.counts["ana"].day_n == 1
