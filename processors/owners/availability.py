"""Is an owner available right now, and which hour/day/week is it for them?

Judged in the OWNER's time zone: "outside working hours" and "today's cap"
mean the owner's hours and the owner's day. The buckets name the owner-local
hour, day and ISO week, so caps and fairness counters roll over at the
owner's midnight, not the server's.

On the autumn DST change the repeated local hour (e.g. 02:00-03:00 twice in
Europe/Berlin) is one bucket: an hourly cap covers both real hours together,
which errs on the side of fewer leads. Working hours use the local wall
clock, so a 09:00 start is 09:00 local on both sides of a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from processors.owners.models import Owner, span_text
from processors.routing.ledger import Candidate

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Availability:
    skip: str | None  # why the owner cannot take a lead now; None when they can
    hour_bucket: str  # owner-local, e.g. "2026-11-25T14"
    day_bucket: str  # owner-local, e.g. "2026-11-25"
    week_bucket: str  # owner-local ISO week, e.g. "2026-W48"


def local_time(owner: Owner, now_ms: int) -> datetime:
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(owner.zone())


def buckets(local: datetime) -> tuple[str, str, str]:
    year, week, _ = local.isocalendar()
    return local.strftime("%Y-%m-%dT%H"), local.strftime("%Y-%m-%d"), f"{year}-W{week:02d}"


def _absent_until(owner: Owner, now: datetime) -> datetime | None:
    """End of the absence covering ``now``, following absences that start exactly where one ends."""
    until: datetime | None = None
    for start, end in owner.out_of_office:  # sorted at load
        if until is None and start <= now < end:
            until = end
        elif until is not None and start <= until:
            until = max(until, end)
    return until


def _outside_hours(owner: Owner, local: datetime) -> str | None:
    if owner.working_hours is None:
        return None
    day = _DAY_KEYS[local.weekday()]
    spans = owner.working_hours.get(day, ())
    minute = local.hour * 60 + local.minute
    if any(start <= minute < end for start, end in spans):
        return None
    now_text = f"{_DAY_NAMES[local.weekday()]} {local:%H:%M} {owner.time_zone}"
    if not spans:
        return f"outside working hours ({now_text}; not working on {_DAY_NAMES[local.weekday()]})"
    return f"outside working hours ({now_text}; works {', '.join(span_text(s) for s in spans)})"


def availability(owner: Owner, now_ms: int) -> Availability:
    """Status first, then out of office, then working hours: the first reason that applies."""
    local = local_time(owner, now_ms)
    hour, day, week = buckets(local)
    skip: str | None = None
    if owner.status == "offline":
        skip = "offline"
    elif owner.status == "away":
        skip = "status away"
    else:
        until = _absent_until(owner, local)
        if until is not None:
            skip = f"out of office until {until.astimezone(owner.zone()):%Y-%m-%d %H:%M} {owner.time_zone}"
        else:
            skip = _outside_hours(owner, local)
    return Availability(skip, hour, day, week)


def missing_skill(owner: Owner, require_skills: Iterable[str]) -> str | None:
    """The first required skill the owner lacks (skills and languages both count, any case)."""
    has = {s.casefold() for s in (*owner.skills, *owner.languages)}
    for skill in require_skills:
        if skill.casefold() not in has:
            return skill
    return None


def candidate_for(owner: Owner, weight: float, now_ms: int, require_skills: Iterable[str] = ()) -> Candidate:
    """The ledger's view of ``owner`` as a pool member (or a named owner) at ``now_ms``.

    The weight is the pool member's weight times the owner's own weight. An
    unavailable owner is skipped with the availability reason before a missing
    skill, because that is what a person fixes first.
    """
    seen = availability(owner, now_ms)
    skip = seen.skip
    if skip is None:
        lacking = missing_skill(owner, require_skills)
        if lacking is not None:
            skip = f"missing skill {lacking}"
    return Candidate(
        owner_id=owner.id,
        weight=float(weight) * float(owner.weight),
        skip=skip,
        cap_hour=owner.cap_per_hour,
        cap_day=owner.cap_per_day,
        hour_bucket=seen.hour_bucket,
        day_bucket=seen.day_bucket,
        week_bucket=seen.week_bucket,
        open_load=owner.open_leads,
    )


def unknown_candidate(owner_id: str) -> Candidate:
    """A pool member or named owner who is not in the owner directory."""
    return Candidate(owner_id=owner_id, skip="unknown owner")
