"""An owner: who can receive leads, when, and how many.

Everything time-related is kept in the owner's own IANA time zone, because a
rep in Tokyo and one in Los Angeles start their day at different instants:
working hours are local wall-clock ranges per weekday, out-of-office ranges
are absolute instants (owner-local values are pinned to the zone at load).

The record form (:func:`owner_to_record` / :func:`owner_from_record`) is the
one shape every store shares: the Avro value on the ``owners`` topic and the
JSON in Redis.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Status = Literal["available", "away", "offline"]
STATUSES: tuple[Status, ...] = ("available", "away", "offline")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: A local wall-clock range in minutes after midnight, start inclusive, end exclusive (end <= 1440).
Span = tuple[int, int]
#: An absolute out-of-office range, start inclusive, end exclusive (tz-aware).
Absence = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    name: str = ""
    email: str = ""
    team: str = ""
    time_zone: str = "UTC"
    #: weekday ("mon".."sun") → ranges; a weekday left out is a day off; ``None`` = always working.
    working_hours: Mapping[str, tuple[Span, ...]] | None = None
    out_of_office: tuple[Absence, ...] = ()
    status: Status = "available"
    cap_per_hour: int | None = None
    cap_per_day: int | None = None
    weight: float = 1.0
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    open_leads: int = 0

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def zone_for(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError with a fix-it otherwise."""
    try:
        if not name or name != name.strip():
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin, America/New_York or UTC"
        ) from None


def minutes(text: str) -> int:
    """'09:30' → 570; '24:00' is allowed as an end of day."""
    hours, sep, mins = text.strip().partition(":")
    if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
        raise ValueError(f"{text!r} is not a time of day; write HH:MM, e.g. 09:00")
    value = int(hours) * 60 + int(mins)
    if int(mins) > 59 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value


def clock_text(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def span_text(span: Span) -> str:
    return f"{clock_text(span[0])}-{clock_text(span[1])}"


def parse_span(text: str) -> Span:
    """'09:00-17:30' → (540, 1050); refuses inverted and overnight ranges with a fix-it."""
    start, sep, end = text.strip().partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a range of hours; write HH:MM-HH:MM, e.g. 09:00-17:30")
    span = (minutes(start), minutes(end))
    if span[1] <= span[0]:
        raise ValueError(
            f"{text!r} ends before it starts; an overnight shift is two ranges on two days "
            "(e.g. mon 22:00-24:00 and tue 00:00-06:00)"
        )
    return span


def parse_weekdays(text: str) -> list[str]:
    """'mon-fri', 'sat,sun' or 'sun-tue' → the weekdays in order of the text; a range may wrap the week.

    'fri-mon' is Friday to Monday: teams that work weekends write their week
    from where it starts for them.
    """
    days: list[str] = []
    for part in text.lower().split(","):
        first, sep, last = part.strip().partition("-")
        for day in (first, last) if sep else (first,):
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)} (e.g. mon-fri)")
        if not sep:
            days.append(first)
            continue
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        days.extend(WEEKDAYS[a : b + 1] if a <= b else WEEKDAYS[a:] + WEEKDAYS[: b + 1])
    return days


def check_spans(day: str, spans: tuple[Span, ...]) -> tuple[Span, ...]:
    ordered = tuple(sorted(spans))
    for before, after in itertools.pairwise(ordered):
        if after[0] < before[1]:
            raise ValueError(
                f"{day}: {span_text(before)} and {span_text(after)} overlap; merge them into one range"
            )
    return ordered


def validate(owner: Owner) -> Owner:
    """The owner if every field makes sense; ValueError naming the first that does not."""
    if not isinstance(owner.id, str) or not owner.id.strip():
        raise ValueError("an owner needs a non-empty id (the CRM user id)")
    zone_for(owner.time_zone)
    if owner.status not in STATUSES:
        raise ValueError(f"unknown status {owner.status!r}; use one of {', '.join(STATUSES)}")
    for name in ("cap_per_hour", "cap_per_day"):
        cap = getattr(owner, name)
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 0):
            raise ValueError(f"{name} must be a whole number >= 0, or left out for no cap (got {cap!r})")
    if not isinstance(owner.weight, int | float) or isinstance(owner.weight, bool) or owner.weight <= 0:
        raise ValueError(f"weight must be a number > 0 (got {owner.weight!r}); set status away to pause")
    if not isinstance(owner.open_leads, int) or owner.open_leads < 0:
        raise ValueError(f"open_leads must be a whole number >= 0 (got {owner.open_leads!r})")
    if owner.working_hours is not None:
        for day, spans in owner.working_hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            check_spans(day, spans)
    check_absences(owner.out_of_office)
    return owner


def check_absences(absences: tuple[Absence, ...]) -> tuple[Absence, ...]:
    for start, end in absences:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("out-of-office times must be pinned to a time zone")
        if end <= start:
            raise ValueError(f"out of office {start.isoformat()} → {end.isoformat()} ends before it starts")
    ordered = sorted(absences)
    for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
        if s2 < e1:
            raise ValueError(
                f"out-of-office ranges {s1.isoformat()} → {e1.isoformat()} and {s2.isoformat()} → "
                f"{e2.isoformat()} overlap; merge them into one range"
            )
    return tuple(ordered)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def owner_to_record(owner: Owner) -> dict[str, Any]:
    """The shared record form: plain JSON/Avro types only."""
    hours = (
        None
        if owner.working_hours is None
        else {
            day: [span_text(s) for s in owner.working_hours[day]]
            for day in WEEKDAYS
            if day in owner.working_hours
        }
    )
    return {
        "id": owner.id,
        "name": owner.name,
        "email": owner.email,
        "team": owner.team,
        "time_zone": owner.time_zone,
        "working_hours": hours,
        "out_of_office": [{"start_ms": _ms(s), "end_ms": _ms(e)} for s, e in owner.out_of_office],
        "status": owner.status,
        "cap_per_hour": owner.cap_per_hour,
        "cap_per_day": owner.cap_per_day,
        "weight": float(owner.weight),
        "skills": list(owner.skills),
        "languages": list(owner.languages),
        "open_leads": owner.open_leads,
    }


def owner_from_record(record: Mapping[str, Any]) -> Owner:
    """An :class:`Owner` from its record form; ValueError when it does not validate."""
    hours_in = record.get("working_hours")
    hours = (
        None
        if hours_in is None
        else {day: tuple(parse_span(text) for text in spans) for day, spans in hours_in.items()}
    )
    owner = Owner(
        id=record["id"],
        name=record.get("name") or "",
        email=record.get("email") or "",
        team=record.get("team") or "",
        time_zone=record.get("time_zone") or "UTC",
        working_hours=hours,
        out_of_office=tuple(
            (_moment(int(a["start_ms"])), _moment(int(a["end_ms"])))
            for a in record.get("out_of_office") or ()
        ),
        status=cast(Status, record.get("status") or "available"),
        cap_per_hour=record.get("cap_per_hour"),
        cap_per_day=record.get("cap_per_day"),
        weight=float(record.get("weight", 1.0) if record.get("weight") is not None else 1.0),
        skills=tuple(record.get("skills") or ()),
        languages=tuple(record.get("languages") or ()),
        open_leads=int(record.get("open_leads") or 0),
    )
    validate(owner)
    return owner
