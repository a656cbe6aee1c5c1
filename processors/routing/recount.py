"""Owners' assignment counts recovered from assignment events, after the ledger was lost.

Caps are promises to reps ("at most 20 leads a day"): if Redis comes back
empty mid-day and the counts start again at zero, an owner can be given up to
a second day's worth. The events on leads.assigned say who got which lead
when, so the counts of each owner's current hour, day and week (owner-local,
as the ledger keeps them) can be counted again from them. Only what was read
back is counted: a week older than the read-back window is undercounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.owners.availability import buckets, local_time
from processors.owners.models import Owner


@dataclass(slots=True)
class OwnerCounts:
    """One owner's counts in its current buckets; ``*_pool``: placements by a pool (fairness)."""

    hour: str
    day: str
    week: str
    hour_n: int = 0
    day_n: int = 0
    day_pool: int = 0
    week_n: int = 0
    week_pool: int = 0


@dataclass(slots=True)
class Recount:
    """Counts first decisions per owner as events are read back; each lead counts once."""

    owners: Mapping[str, Owner]
    now_ms: int
    counts: dict[str, OwnerCounts] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def add(self, assignment: Mapping[str, Any]) -> None:
        if assignment["replayed"] or assignment["destination_type"] != "owner":
            return
        lead_id = assignment["lead_id"]
        if lead_id in self._seen:
            return
        self._seen.add(lead_id)
        owner = self.owners.get(assignment["destination"])
        if owner is None:  # removed since: nobody to cap
            return
        counts = self.counts.get(owner.id)
        if counts is None:
            counts = self.counts[owner.id] = OwnerCounts(*buckets(local_time(owner, self.now_ms)))
        hour, day, week = buckets(local_time(owner, assignment["decided_at_ms"]))
        by_pool = 1 if str(assignment["action"]).startswith("pool ") else 0
        if hour == counts.hour:
            counts.hour_n += 1
        if day == counts.day:
            counts.day_n += 1
            counts.day_pool += by_pool
        if week == counts.week:
            counts.week_n += 1
            counts.week_pool += by_pool
