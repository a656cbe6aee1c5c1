"""Owner files (YAML or CSV) → validated :class:`Owner` records, or file:line: reason.

A RevOps person edits these by hand, so every mistake is refused whole with
where it is and how to fix it; a half-loaded roster would route leads to the
wrong people. docs/owners.md documents the format for the people who write it
(its examples are loaded by tests/unit/processors/owners/test_owners_doc.py).

YAML: a list of owners, or a mapping of owner id → fields, optionally under a
top-level ``owners:`` key::

    - id: u-001
      name: Ana Lima
      email: ana@example.com
      team: emea-smb
      time_zone: Europe/Berlin
      working_hours: {mon: ["09:00-12:00", "13:00-17:30"], tue: ["09:00-17:30"]}
      # or the compact form: "mon-fri 09:00-12:00,13:00-17:30; sat 10:00-14:00"
      out_of_office:
        - {from: 2026-12-01, until: 2026-12-05}        # dates: whole days, owner-local
        - "2026-12-24T12:00/2026-12-27T09:00+01:00"     # ISO, owner-local unless an offset is given
      status: available            # available | away | offline
      cap_per_hour: 10             # left out = no cap
      cap_per_day: 40
      weight: 1
      skills: [german, enterprise]
      languages: [de, en]
      open_leads: 0

CSV columns (header row; only ``id`` is required, unknown columns are refused):
``id, name, email, team, time_zone, working_hours, out_of_office, status,
cap_per_hour, cap_per_day, weight, skills, languages, open_leads``.
``working_hours`` is the compact form (``mon-fri 09:00-17:00``; several specs
joined by ``;``; empty = always working); ``out_of_office`` is ``start/end``
ranges joined by ``;``; ``skills`` and ``languages`` are joined by ``;``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from processors.config import ConfigError, Document, parse_yaml
from processors.owners.models import (
    STATUSES,
    WEEKDAYS,
    Absence,
    Owner,
    Span,
    check_absences,
    check_spans,
    parse_span,
    parse_weekdays,
    validate,
    zone_for,
)

FIELDS: tuple[str, ...] = (
    "id", "name", "email", "team", "time_zone", "working_hours", "out_of_office", "status",
    "cap_per_hour", "cap_per_day", "weight", "skills", "languages", "open_leads",
)  # fmt: skip


def parse_owners(text: str, source: str) -> list[Owner]:
    """Owners from a file's text; CSV when ``source`` ends in .csv, else YAML."""
    if source.lower().endswith(".csv"):
        return parse_owners_csv(text, source)
    return parse_owners_yaml(text, source)


# --- field parsers: each raises ValueError with a sentence; the callers add file and line ---


def compact_hours(text: str) -> dict[str, tuple[Span, ...]] | None:
    """'mon-fri 09:00-12:00,13:00-17:30; sat 10:00-14:00' → per weekday; '' or 'always' → None."""
    text = text.strip()
    if not text or text.lower() == "always":
        return None
    hours: dict[str, list[Span]] = {}
    for spec in filter(None, (part.strip() for part in text.split(";"))):
        # The days end where the first time begins, so "mon, wed 09:00-17:00" reads as written.
        first_time = next((i for i, char in enumerate(spec) if char.isdigit()), len(spec))
        days_text, ranges = spec[:first_time].replace(" ", ""), spec[first_time:]
        if not ranges.strip():
            raise ValueError(f"{spec!r} has no hours; write e.g. 'mon-fri 09:00-17:00'")
        spans = [parse_span(r) for r in ranges.replace(" ", "").split(",") if r]
        for day in parse_weekdays(days_text):
            hours.setdefault(day, []).extend(spans)
    return {day: check_spans(day, tuple(spans)) for day, spans in hours.items()}


def working_hours(value: Any) -> dict[str, tuple[Span, ...]] | None:
    """The YAML forms: a mapping per weekday, a compact string, or a list of compact strings."""
    if value is None:
        return None
    if isinstance(value, str):
        return compact_hours(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return compact_hours("; ".join(value))
    if isinstance(value, Mapping):
        hours: dict[str, tuple[Span, ...]] = {}
        for day, spans in value.items():
            key = str(day).lower()
            if key not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            items = [spans] if isinstance(spans, str) else spans or []
            if not isinstance(items, list):
                raise ValueError(f"{day}: give a list of ranges, e.g. ['09:00-12:00', '13:00-17:30']")
            hours[key] = check_spans(key, tuple(parse_span(str(s)) for s in items))
        return hours
    raise ValueError("working_hours is a mapping of weekday → ranges, or 'mon-fri 09:00-17:00'")


def _moment(value: Any, zone_name: str, *, end: bool) -> datetime:
    """A date, datetime or ISO text, pinned to the owner's zone unless it carries an offset.

    A date alone is a whole day: as an end it means the end of that day.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date or time; write 2026-12-01 or 2026-12-01T09:00 (owner-local)"
            ) from None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value + timedelta(days=1) if end else value, time())
    else:
        raise ValueError(f"{value!r} is not a date or time; write 2026-12-01 or 2026-12-01T09:00")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone_for(zone_name))


def absences(value: Any, zone_name: str) -> tuple[Absence, ...]:
    """Out-of-office ranges: [{from, until}] or ['start/end'], owner-local unless an offset is given."""
    if value is None or value == "":
        return ()
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("out_of_office is a list of {from: …, until: …} or 'start/end' ranges")
    found: list[Absence] = []
    for item in items:
        if isinstance(item, str):
            if not item.strip():
                continue
            start, sep, stop = item.partition("/")
            if not sep:
                raise ValueError(
                    f"{item.strip()!r} is not a range; write start/end, e.g. 2026-12-01/2026-12-05"
                )
        elif isinstance(item, Mapping):
            start, stop = item.get("from", item.get("start")), item.get("until", item.get("end"))
            if start is None or stop is None:
                raise ValueError("an out-of-office range needs both 'from' and 'until'")
        else:
            raise ValueError("an out-of-office range is {from: …, until: …} or 'start/end'")
        found.append((_moment(start, zone_name, end=False), _moment(stop, zone_name, end=True)))
    return check_absences(tuple(found))


def _cap(value: Any, name: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        cap = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"{name} must be a whole number, or left out for no cap (got {value!r})") from None
    if isinstance(value, bool) or cap < 0:
        raise ValueError(f"{name} cannot be negative (got {value!r}); leave it out for no cap, 0 to pause")
    return cap


def _number(value: Any, name: str, kind: Callable[[str], Any], default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number (got {value!r})")
    try:
        return kind(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a number (got {value!r})") from None


def _names(value: Any, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split(";") if ";" in value else value.split(",")
    if not isinstance(value, list):
        raise ValueError(f"{name} is a list of words, e.g. [german, enterprise]")
    return tuple(str(v).strip() for v in value if str(v).strip())


#: field → how it is read, given the raw value and the owner's zone name.
_READERS: dict[str, Callable[[Any, str], Any]] = {
    "working_hours": lambda v, z: working_hours(v),
    "out_of_office": absences,
    "cap_per_hour": lambda v, z: _cap(v, "cap_per_hour"),
    "cap_per_day": lambda v, z: _cap(v, "cap_per_day"),
    "weight": lambda v, z: _number(v, "weight", float, 1.0),
    "open_leads": lambda v, z: _number(v, "open_leads", int, 0),
    "skills": lambda v, z: _names(v, "skills"),
    "languages": lambda v, z: _names(v, "languages"),
}


def build_owner(fields: Mapping[str, Any], where: Callable[[str | None], ConfigError]) -> Owner:
    """One owner from raw fields; ``where(field)`` makes the error for that field's line."""
    unknown = [k for k in fields if k not in FIELDS]
    if unknown:
        raise _with(where(unknown[0]), f"unknown field {unknown[0]!r}; owners have {', '.join(FIELDS)}")
    owner_id = fields.get("id")
    if owner_id is None or not str(owner_id).strip():
        raise _with(where("id"), "an owner needs an id (the CRM user id)")
    zone_name = str(fields.get("time_zone") or "UTC").strip()
    try:
        zone_for(zone_name)
    except ValueError as error:
        raise _with(where("time_zone"), str(error)) from None
    status = str(fields.get("status") or "available").strip().lower()
    if status not in STATUSES:
        raise _with(where("status"), f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    values: dict[str, Any] = {}
    for name, reader in _READERS.items():
        try:
            values[name] = reader(fields.get(name), zone_name)
        except ValueError as error:
            raise _with(where(name), str(error)) from None
    owner = Owner(
        id=str(owner_id).strip(),
        name=str(fields.get("name") or "").strip(),
        email=str(fields.get("email") or "").strip(),
        team=str(fields.get("team") or "").strip(),
        time_zone=zone_name,
        status=status,
        **values,
    )
    try:
        return validate(owner)
    except ValueError as error:
        raise _with(where(None), str(error)) from None


def _with(error: ConfigError, reason: str) -> ConfigError:
    return ConfigError(error.source, error.line, reason)


def _check_unique(owners: list[tuple[Owner, int | None]], source: str) -> list[Owner]:
    first: dict[str, int | None] = {}
    for owner, line in owners:
        if owner.id in first:
            at = f" (first at line {first[owner.id]})" if first[owner.id] is not None else ""
            raise ConfigError(source, line, f"owner {owner.id!r} is given twice{at}; keep one entry per id")
        first[owner.id] = line
    return [owner for owner, _ in owners]


def parse_owners_yaml(text: str, source: str) -> list[Owner]:
    doc = parse_yaml(text, source)
    data = doc.data
    base: tuple[str | int, ...] = ()
    if isinstance(data, Mapping) and set(data) == {"owners"}:
        data, base = data["owners"], ("owners",)
    if data is None:
        return []
    entries: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = []
    if isinstance(data, list):
        for index, item in enumerate(data):
            if not isinstance(item, Mapping):
                raise doc.error((*base, index), "each owner is a mapping of fields (id, name, time_zone, …)")
            entries.append(((*base, index), item))
    elif isinstance(data, Mapping):
        for key, item in data.items():
            if not isinstance(item, Mapping):
                raise doc.error((*base, key), f"owner {key!r}: give a mapping of fields (name, time_zone, …)")
            given = item.get("id")
            if given is not None and str(given) != key:
                raise doc.error((*base, key, "id"), f"owner {key!r} says id {given!r}; the key is the id")
            entries.append(((*base, key), {**item, "id": key}))
    else:
        raise doc.error(base, "an owner file is a list of owners or a mapping of owner id → fields")
    owners = [(_yaml_owner(doc, path, fields), doc.line(path)) for path, fields in entries]
    return _check_unique(owners, source)


def _yaml_owner(doc: Document, path: tuple[str | int, ...], fields: Mapping[str, Any]) -> Owner:
    return build_owner(fields, lambda name: doc.error(path if name is None else (*path, name), ""))


def parse_owners_csv(text: str, source: str) -> list[Owner]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "id" not in header:
        raise ConfigError(source, 1, f"the header row needs an 'id' column; columns are {', '.join(FIELDS)}")
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise ConfigError(source, 1, f"unknown column {unknown[0]!r}; owner files have {', '.join(FIELDS)}")
    reader.fieldnames = header
    owners: list[tuple[Owner, int | None]] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ConfigError(source, line, "this row has more values than the header has columns")
        fields = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
        if not fields:
            continue

        def where(_name: str | None, line: int = line) -> ConfigError:
            return ConfigError(source, line, "")

        owners.append((build_owner(fields, where), line))
    return _check_unique(owners, source)
