"""The assignment ledger in one process: batch mode, simulations, and the reference for Redis.

:class:`InMemoryLedger` is the executable specification of the contract in
:mod:`processors.routing.ledger`; the Redis script (``streams/adapters/lua/
assign_chunk.lua``) mirrors it step by step and one conformance suite runs
both. The precise rules, beyond the contract:

* **Eligible** = a candidate with no ``skip`` and under both caps. Caps count
  every assignment to the owner (any pool, named-owner actions too) in the
  candidate's hour and day buckets: "hourly cap reached (10/10)".
* **round_robin**: the eligible member least recently placed *by this pool*
  (a global sequence number, not a clock, so two placements in one
  millisecond still order); never-placed members come first, ordered by
  ``sha1(pool + "\\n" + owner)`` so neither name nor list position wins.
* **weighted**: smooth weighted round robin (nginx): every eligible member's
  current weight grows by its weight, the largest (on a tie the least recently
  placed, as round robin) is chosen and loses the eligible total. Skipped members neither accrue
  nor pay, so an absent member returns with no backlog.
* **load_balanced**: the lowest effective load; ties by least recently placed
  (as round robin). Load is assignments today (owner-local day) or, with
  ``balance_by=open_load``, the CRM-reported open leads plus the assignments
  made since that figure last changed. Effective load = load + the member's
  returning offset for that day (below).
* **Sticky**: a stored sticky owner who is an eligible candidate of a pool
  attempt is chosen; the pool's bookkeeping runs as for any placement (SWRR
  pays, the sequence moves). Every pool placement (re)sets the sticky owner.
* **Fairness**: per pool placement, every eligible member accrues
  ``weight / total eligible weight`` expected leads in its day and week
  buckets; the winner's pool-placement count moves. Deficit = expected −
  placed, per owner, summed over the pools they are in.

Returning owners (``returning_owner_credit`` = N). "Unavailable" means
skipped for a reason known before the ledger (status, out of office, working
hours) — not a cap, a missing skill or an unknown owner.

* load_balanced: by default (N = 0) no catch-up: every placement lifts each
  unavailable member's effective load for the day to at least the minimum
  effective load among the eligible members, minus N (a stored offset). A
  member back after a morning away therefore rejoins level with the least
  loaded and takes at most N leads ahead of the rotation, never 30.
  Newcomers likewise: an eligible member the pool has not weighed yet in its
  owner-local day (just added to the pool, or its day has just begun) starts
  at the minimum effective load among the members it has weighed today,
  minus N; on a pool's first placement of the day nobody is lifted.
* round_robin and weighted cannot surge by construction; with N > 0 every
  placement that skips an unavailable member gives it a turn credit, at most
  N in store. An eligible member holding credit is chosen first (least
  recently placed among credited members) and spends one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from processors.routing.duplicates import FirstLead, first_lead_from, record_text
from processors.routing.ledger import AssignRequest, AssignResult, Attempt, Candidate, Skip

#: Expected shares are counted in nano-leads (integers), so both ledgers add exactly the same
#: numbers and store them without float formatting; the rounding is <= 0.5e-9 lead per placement.
EXPECTED_UNIT = 1_000_000_000
#: Smooth weighted round robin runs on weights in thousandths (integers, at least 1).
WEIGHT_UNIT = 1000

#: Skip reasons that do not mean "away": no returning credit or floor for these.
NOT_ABSENCE = ("missing skill", "unknown owner")


def is_absence(reason: str) -> bool:
    return not reason.startswith(NOT_ABSENCE)


def member_hash(pool: str, owner_id: str) -> str:
    """Order of never-placed members: the same in Python and in the Redis script (redis.sha1hex)."""
    return hashlib.sha1(f"{pool}\n{owner_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Fairness:
    """One owner's share today and this ISO week, in their own time zone."""

    owner_id: str
    assigned_today: int  # every assignment (pools and named-owner actions)
    assigned_week: int
    placed_today: int  # pool placements only: what the expected share is compared with
    placed_week: int
    expected_today: float
    expected_week: float

    @property
    def deficit_today(self) -> float:
        return self.expected_today - self.placed_today

    @property
    def deficit_week(self) -> float:
        return self.expected_week - self.placed_week


@dataclass(slots=True)
class _Member:
    """A member's standing in one pool."""

    placed_seq: int | None = None
    current: int = 0  # smooth weighted round robin, in WEIGHT_UNITs
    credit: int = 0
    offset_day: str = ""
    offset: int = 0


@dataclass(slots=True)
class _OwnerCounts:
    hour: tuple[str, int] = ("", 0)
    day: tuple[str, int] = ("", 0)
    week: tuple[str, int] = ("", 0)
    fair_day: tuple[str, int, int] = ("", 0, 0)  # (bucket, placed, expected in EXPECTED_UNITs)
    fair_week: tuple[str, int, int] = ("", 0, 0)
    open_load: tuple[int, int] = (-1, 0)  # (reported, assigned since)


def _count(value: tuple[str, int], bucket: str) -> int:
    return value[1] if value[0] == bucket else 0


class InMemoryLedger:
    """An :class:`~processors.routing.ledger.AssignmentLedger` for one process (decisions never expire)."""

    def __init__(self) -> None:
        self._decisions: dict[str, AssignResult] = {}
        self._owners: dict[str, _OwnerCounts] = {}
        self._pools: dict[str, dict[str, _Member]] = {}
        self._sticky: dict[str, tuple[str, int]] = {}  # key → (owner, expires at now_ms)
        self._identities: dict[str, tuple[str, int]] = {}  # identity → (record_text, expires at now_ms)
        self._seq = 0

    def assign_many(self, requests: Sequence[AssignRequest]) -> list[AssignResult]:
        return [self.assign(request) for request in requests]

    def first_leads(
        self, leads: Sequence[tuple[str, tuple[str, ...]]], now_ms: int
    ) -> list[FirstLead | None]:
        return [self._first_lead(lead_id, keys, now_ms) for lead_id, keys in leads]

    def _first_lead(self, lead_id: str, keys: Sequence[str], now_ms: int) -> FirstLead | None:
        for key in keys:
            held = self._identities.get(key)
            if held is None or held[1] <= now_ms:
                continue
            found = first_lead_from(key, held[0])
            if found.lead_id != lead_id:
                return found
        return None

    def assign(self, request: AssignRequest) -> AssignResult:
        earlier = self._decisions.get(request.lead_id)
        if earlier is not None:
            return replace(earlier, replayed=True)
        found = None
        if request.identities:
            found = self._first_lead(request.lead_id, request.identities, request.now_ms)
            if found is not None and found.lead_id != request.duplicate_of:
                return AssignResult(False, None, None, (), False, request.meta, unplanned_duplicate=found)
        result = self._decide(request)
        self._decisions[request.lead_id] = result
        if request.identities and request.identity_ttl_s > 0:
            self._record(request, result, found)
        return result

    def _record(self, request: AssignRequest, result: AssignResult, found: FirstLead | None) -> None:
        """A first lead records itself against each identity not held; a duplicate lends the first
        lead's record to the identities only it has, so a third lead sharing just those finds the first."""
        if request.duplicate_of is None:
            record = record_text(request.lead_id, result.owner_id, request.now_ms)
        elif found is not None:
            record = record_text(found.lead_id, found.owner_id, found.routed_at_ms)
        else:
            return  # planned as a duplicate, but the first lead's records expired since
        expires = request.now_ms + request.identity_ttl_s * 1000
        for key in request.identities:
            held = self._identities.get(key)
            if held is None or held[1] <= request.now_ms:
                self._identities[key] = (record, expires)

    def _decide(self, request: AssignRequest) -> AssignResult:
        skips: list[Skip] = []
        result = AssignResult(False, None, None, (), False, request.meta)
        for index, attempt in enumerate(request.attempts):
            if attempt.kind == "queue":
                result = AssignResult(False, index, None, tuple(skips), False, request.meta)
                break
            eligible = self._eligible(index, attempt, skips)
            if not eligible:
                continue
            if attempt.kind == "pool":
                winner, sticky = self._pool(request, attempt, eligible)
            else:
                winner, sticky = eligible[0], False
            self._count(winner)
            result = AssignResult(False, index, winner.owner_id, tuple(skips), sticky, request.meta)
            break
        else:
            result = AssignResult(False, None, None, tuple(skips), False, request.meta)
        return result

    def _state(self, owner_id: str) -> _OwnerCounts:
        return self._owners.setdefault(owner_id, _OwnerCounts())

    def _eligible(self, index: int, attempt: Attempt, skips: list[Skip]) -> list[Candidate]:
        eligible: list[Candidate] = []
        for c in attempt.candidates:
            if c.skip:
                skips.append(Skip(index, c.owner_id, c.skip))
                continue
            state = self._state(c.owner_id)
            hour, day = _count(state.hour, c.hour_bucket), _count(state.day, c.day_bucket)
            if c.cap_hour is not None and hour >= c.cap_hour:
                skips.append(Skip(index, c.owner_id, f"hourly cap reached ({hour}/{c.cap_hour})"))
            elif c.cap_day is not None and day >= c.cap_day:
                skips.append(Skip(index, c.owner_id, f"daily cap reached ({day}/{c.cap_day})"))
            else:
                eligible.append(c)
        return eligible

    def _count(self, c: Candidate) -> None:
        state = self._state(c.owner_id)
        state.hour = (c.hour_bucket, _count(state.hour, c.hour_bucket) + 1)
        state.day = (c.day_bucket, _count(state.day, c.day_bucket) + 1)
        state.week = (c.week_bucket, _count(state.week, c.week_bucket) + 1)
        reported, since = state.open_load
        state.open_load = (c.open_load, since + 1 if reported == c.open_load else 1)

    def _load(self, c: Candidate, balance_by: str | None, member: _Member) -> int:
        state = self._state(c.owner_id)
        if balance_by == "open_load":
            reported, since = state.open_load
            base = c.open_load + (since if reported == c.open_load else 0)
        else:
            base = _count(state.day, c.day_bucket)
        return base + (member.offset if member.offset_day == c.day_bucket else 0)

    def _pool(
        self, request: AssignRequest, attempt: Attempt, eligible: list[Candidate]
    ) -> tuple[Candidate, bool]:
        members = self._pools.setdefault(attempt.name, {})
        standing = {c.owner_id: members.setdefault(c.owner_id, _Member()) for c in attempt.candidates}
        strategy = attempt.strategy or "round_robin"
        credit = request.returning_owner_credit

        def rank(c: Candidate) -> tuple[int, str, int]:
            seq = standing[c.owner_id].placed_seq
            return (0, member_hash(attempt.name, c.owner_id), 0) if seq is None else (1, "", seq)

        total = sum(c.weight for c in eligible)
        units = {c.owner_id: max(1, math.floor(c.weight * WEIGHT_UNIT + 0.5)) for c in eligible}
        winner = self._sticky_member(request, eligible)
        sticky = winner is not None
        loads = {c.owner_id: self._load(c, attempt.balance_by, standing[c.owner_id]) for c in eligible}
        if strategy == "load_balanced":
            self._level_newcomers(eligible, standing, loads, credit)
        if strategy == "weighted":
            for c in eligible:
                standing[c.owner_id].current += units[c.owner_id]
        if winner is None and credit > 0 and strategy != "load_balanced":
            credited = [c for c in eligible if standing[c.owner_id].credit > 0]
            if credited:
                winner = min(credited, key=rank)
                standing[winner.owner_id].credit -= 1
        if winner is None:
            if strategy == "weighted":
                # Highest current weight; a tie goes to the least recently placed (hash order
                # for never-placed), never to list position.
                winner = min(eligible, key=lambda c: (-standing[c.owner_id].current, rank(c)))
            elif strategy == "load_balanced":
                winner = min(eligible, key=lambda c: (loads[c.owner_id], rank(c)))
            else:
                winner = min(eligible, key=rank)
        if strategy == "weighted":
            standing[winner.owner_id].current -= sum(units[c.owner_id] for c in eligible)
        self._seq += 1
        standing[winner.owner_id].placed_seq = self._seq
        absent = _absent_members(attempt.candidates)
        if strategy == "load_balanced":
            floor = min(loads.values()) - credit
            for c in absent:
                member = standing[c.owner_id]
                load = self._load(c, attempt.balance_by, member)
                if load < floor:
                    keep = member.offset if member.offset_day == c.day_bucket else 0
                    member.offset_day, member.offset = c.day_bucket, keep + floor - load
        elif credit > 0:
            for c in absent:
                member = standing[c.owner_id]
                member.credit = min(member.credit + 1, credit)
        for c in eligible:
            share = math.floor(c.weight * EXPECTED_UNIT / total + 0.5)
            self._accrue(c, share, c.owner_id == winner.owner_id)
        if request.sticky_key and request.sticky_ttl_s > 0:
            self._sticky[request.sticky_key] = (winner.owner_id, request.now_ms + request.sticky_ttl_s * 1000)
        return winner, sticky

    @staticmethod
    def _level_newcomers(
        eligible: list[Candidate], standing: dict[str, _Member], loads: dict[str, int], credit: int
    ) -> None:
        """Members this pool has not weighed yet today start level with the least loaded, minus N.

        An owner added to the pool (or whose day has just begun) would otherwise
        be the least loaded by a day's worth of leads and take them all in a row.
        The offset's day doubles as the mark that the pool has weighed a member today.
        """
        known = [loads[c.owner_id] for c in eligible if standing[c.owner_id].offset_day == c.day_bucket]
        floor = min(known) - credit if known else None
        for c in eligible:
            member = standing[c.owner_id]
            if member.offset_day == c.day_bucket:
                continue
            load = loads[c.owner_id]
            member.offset_day, member.offset = c.day_bucket, 0
            if floor is not None and load < floor:
                member.offset = floor - load
                loads[c.owner_id] = floor

    def _sticky_member(self, request: AssignRequest, eligible: list[Candidate]) -> Candidate | None:
        if not request.sticky_key:
            return None
        found = self._sticky.get(request.sticky_key)
        if found is None or found[1] <= request.now_ms:
            return None
        return next((c for c in eligible if c.owner_id == found[0]), None)

    def _accrue(self, c: Candidate, share: int, placed: bool) -> None:
        state = self._state(c.owner_id)
        for name, bucket in (("fair_day", c.day_bucket), ("fair_week", c.week_bucket)):
            old_bucket, count, expected = getattr(state, name)
            if old_bucket != bucket:
                count, expected = 0, 0
            setattr(state, name, (bucket, count + (1 if placed else 0), expected + share))

    def fairness(self, buckets: Iterable[tuple[str, str, str]], now_ms: int = 0) -> list[Fairness]:
        """Per (owner id, day bucket, week bucket): this day's and week's counts and shares."""
        rows = []
        for owner_id, day, week in buckets:
            state = self._owners.get(owner_id, _OwnerCounts())
            fd = state.fair_day if state.fair_day[0] == day else (day, 0, 0)
            fw = state.fair_week if state.fair_week[0] == week else (week, 0, 0)
            rows.append(
                Fairness(
                    owner_id,
                    _count(state.day, day),
                    _count(state.week, week),
                    fd[1],
                    fw[1],
                    fd[2] / EXPECTED_UNIT,
                    fw[2] / EXPECTED_UNIT,
                )
            )
        return rows


def _absent_members(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Members of this attempt skipped for an absence (not a cap, a skill or an unknown id), once each."""
    seen: set[str] = set()
    found = []
    for c in candidates:
        if c.skip and is_absence(c.skip) and c.owner_id not in seen:
            seen.add(c.owner_id)
            found.append(c)
    return found
