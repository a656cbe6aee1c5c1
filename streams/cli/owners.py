"""``leadroute owners``: load, inspect and change owners, and see how fairly leads were shared.

Every change goes through the compacted ``owners`` topic (read the owner as
Redis holds it, change it, publish the whole record): owner-sync is the only
writer of the directory, so the topic stays the source of truth and a replay
rebuilds exactly what the CLI did. Exit codes: 0 ok; 2 bad input or file;
3 the owners topic is missing; 4 Kafka unreachable; 5 Redis unreachable.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from processors.config import ConfigError
from processors.errors import DependencyUnavailable
from processors.owners.availability import availability, buckets, local_time
from processors.owners.loader import absences, parse_owners
from processors.owners.models import STATUSES, Owner, owner_to_record, validate
from streams import wiring
from streams.cli.options import with_settings
from streams.csv_safe import SafeWriter
from streams.settings import Settings

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_TOPICS_MISSING = 3
EXIT_BROKER_UNREACHABLE = 4
EXIT_REDIS_DOWN = 5

console = Console(stderr=True)


def _fail(code: int, message: str) -> NoReturn:
    console.print(f"[red]{message}[/]")
    sys.exit(code)


class OwnerPublisher:
    """Publishes owners and tombstones to the owners topic; counts what the broker acknowledged."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Producer

        from streams import topics
        from streams.crm.load import producer_config

        self.topic = topics.name(settings, topics.OWNERS)
        self.producer = Producer(producer_config(settings))
        self.acked = 0
        self.failed: list[str] = []

    def _delivered(self, error: Any, message: Any) -> None:
        if error is None:
            self.acked += 1
        else:
            self.failed.append(error.str())

    def _produce(self, event: tuple[bytes, bytes | None, Any]) -> None:
        key, value, headers = event
        while True:
            try:
                self.producer.produce(
                    self.topic, key=key, value=value, headers=headers, on_delivery=self._delivered
                )
                break
            except BufferError:
                self.producer.poll(0.05)
        self.producer.poll(0)

    def publish(self, owner: Owner) -> None:
        from streams.events import owners as owner_events

        self._produce(owner_events.encode(owner))

    def delete(self, owner_id: str) -> None:
        from streams.events import owners as owner_events

        self._produce(owner_events.tombstone(owner_id))

    def flush(self, timeout: float = 30.0) -> int:
        """Waits for acknowledgements; returns how many events were not acknowledged."""
        return int(self.producer.flush(timeout)) + len(self.failed)


def _preflight(settings: Settings) -> None:
    from confluent_kafka import KafkaException

    from streams import topics

    try:
        missing = topics.missing_topics(settings, [topics.name(settings, topics.OWNERS)])
    except KafkaException as error:
        _fail(EXIT_BROKER_UNREACHABLE, f"Kafka at {settings.kafka_bootstrap} is unreachable: {error}")
    if missing:
        _fail(
            EXIT_TOPICS_MISSING,
            f"The topic {missing[0]} does not exist; run 'leadroute topics create' first.",
        )


def publish_owners(settings: Settings, owners: Sequence[Owner], *, deletes: Sequence[str] = ()) -> int:
    """Publish upserts then deletes (exits 3/4 if the broker cannot take them); returns events acked."""
    _preflight(settings)
    publisher = OwnerPublisher(settings)
    for owner in owners:
        publisher.publish(owner)
    for owner_id in deletes:
        publisher.delete(owner_id)
    if publisher.flush():
        reason = publisher.failed[0] if publisher.failed else "no acknowledgement in time"
        _fail(
            EXIT_BROKER_UNREACHABLE, f"Kafka at {settings.kafka_bootstrap} did not take every owner: {reason}"
        )
    return publisher.acked


def _directory(settings: Settings) -> Any:

    return wiring.owner_directory(settings)


def _current(settings: Settings) -> dict[str, Owner]:
    try:
        return dict(_directory(settings).fresh())
    except DependencyUnavailable as error:
        _fail(EXIT_REDIS_DOWN, f"Redis at {settings.redis_location()} is unreachable: {error}")


def _change(settings: Settings, owner_id: str, change: Callable[[Owner], Owner], what: str) -> None:
    """Read the owner from Redis, change it, validate, publish the whole record."""
    owner = _current(settings).get(owner_id)
    if owner is None:
        _fail(EXIT_BAD_INPUT, f"No owner {owner_id!r} in Redis; load it first with 'leadroute owners load'.")
    try:
        changed = validate(change(owner))
    except ValueError as error:
        _fail(EXIT_BAD_INPUT, f"Not changed: {error}")
    publish_owners(settings, [changed])
    console.print(f"[green]Published[/] {owner_id}: {what}; owner-sync applies it within a second or two.")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@click.group()
def owners() -> None:
    """Load owners, see who is available, change status, out of office and caps."""


@owners.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only validate the file; publish nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also remove the owners in Redis that FILE no longer lists (with --check: only list them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_settings
def load(settings: Settings, file: str, check: bool, prune: bool, as_json: bool) -> None:
    """Publish every owner of FILE (YAML or CSV) to the owners topic; a bad file is refused whole.

    Without --prune an owner left out of the file stays as it was: loading a
    file of new hires never removes the rest of the team.
    """
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except OSError as error:
        _fail(EXIT_BAD_INPUT, f"{file}: cannot read it: {error.strerror or error}")
    try:
        found = parse_owners(text, file)
    except ConfigError as error:
        _fail(EXIT_BAD_INPUT, f"Refused, nothing published: {error}")
    listed = {owner.id for owner in found}
    gone = sorted(set(_current(settings)) - listed) if prune else []
    published = 0 if check else publish_owners(settings, found, deletes=gone)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": file,
                    "owners": len(found),
                    "published": published,
                    "checked": check,
                    ("would_remove" if check else "removed"): gone,
                }
            )
        )
        return
    removal = f"; {'would remove' if check else 'removed'} {len(gone)}: {', '.join(gone)}" if gone else ""
    if check:
        console.print(f"[green]{file}: {len(found)} owners, all valid[/] (nothing published{removal}).")
    else:
        console.print(f"[green]Published {len(found)} owners[/] from {file} to the owners topic{removal}.")


@owners.command("remove")
@click.argument("owner_ids", nargs=-1, required=True)
@with_settings
def remove(settings: Settings, owner_ids: tuple[str, ...]) -> None:
    """Remove OWNER_IDS from the owner directory (a tombstone on the owners topic for each).

    Leads already assigned to them keep their owner; rules or pools that
    still name them skip them as unknown owners and say so.
    """
    known = _current(settings)
    missing = [owner_id for owner_id in owner_ids if owner_id not in known]
    if missing:
        _fail(EXIT_BAD_INPUT, f"Nothing removed: no owner {', '.join(map(repr, missing))} in Redis.")
    publish_owners(settings, [], deletes=list(owner_ids))
    console.print(f"[green]Removed[/] {', '.join(owner_ids)}; owner-sync applies it within a second or two.")


@owners.command("example")
def example_owners() -> None:
    """Print the example team the example rules name (YAML), to start an owners file from.

    leadroute owners example > owners.yaml
    """
    from streams.routing.router import DEMO_OWNERS

    click.echo(DEMO_OWNERS.read_text(encoding="utf-8"), nl=False)


#: Columns of ``owners list --csv``.
OWNER_CSV_COLUMNS: tuple[str, ...] = (
    "id", "name", "email", "team", "time_zone", "status", "right_now",
    "cap_per_hour", "cap_per_day", "weight", "skills", "languages", "open_leads",
)  # fmt: skip


def _owners_csv(rows: list[Owner], now_ms: int) -> str:
    """The owners as CSV for a spreadsheet, through the writer that keeps formulas from running."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(OWNER_CSV_COLUMNS)
    for o in rows:
        skip = availability(o, now_ms).skip
        writer.writerow(
            (
                o.id, o.name, o.email, o.team, o.time_zone, o.status,
                "available" if skip is None else skip,
                o.cap_per_hour, o.cap_per_day, f"{o.weight:g}",
                ";".join(o.skills), ";".join(o.languages), o.open_leads,
            )
        )  # fmt: skip
    return buffer.getvalue()


@owners.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print every owner as JSON.")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print every owner as CSV for a spreadsheet: "
    + ", ".join(OWNER_CSV_COLUMNS)
    + " (right_now is 'available' or why not; skills and languages ';'-separated). A cell that "
    "would run as a formula starts with an apostrophe.",
)
@with_settings
def list_owners(settings: Settings, as_json: bool, as_csv: bool) -> None:
    """Every owner in Redis, with whether they can take a lead right now and why not."""
    found = _current(settings)
    now = _now_ms()
    rows = sorted(found.values(), key=lambda o: o.id)
    if as_json:
        payload = [{**owner_to_record(o), "unavailable": availability(o, now).skip} for o in rows]
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if as_csv:
        click.echo(_owners_csv(rows, now), nl=False)
        return
    table = Table(title=f"{len(rows)} owners")
    for column in ("id", "name", "team", "time zone", "status", "right now", "caps h/d", "weight", "skills"):
        table.add_column(column)
    for o in rows:
        skip = availability(o, now).skip
        caps = "/".join("-" if cap is None else str(cap) for cap in (o.cap_per_hour, o.cap_per_day))
        table.add_row(
            o.id,
            o.name,
            o.team,
            o.time_zone,
            o.status,
            "[green]available[/]" if skip is None else f"[yellow]{skip}[/]",
            caps,
            f"{o.weight:g}",
            ", ".join((*o.skills, *o.languages)),
        )
    Console().print(table)


@owners.command("set-status")
@click.argument("owner_id")
@click.argument("status", type=click.Choice(STATUSES))
@with_settings
def set_status(settings: Settings, owner_id: str, status: str) -> None:
    """Set OWNER_ID's status: available, away or offline."""
    _change(settings, owner_id, lambda o: replace(o, status=status), f"status {status}")  # type: ignore[arg-type]


@owners.command("ooo")
@click.argument("owner_id")
@click.option(
    "--from", "start", help="Start, owner-local unless an offset is given: 2026-12-01 or 2026-12-01T09:00."
)
@click.option("--until", "end", help="End; a date alone means the end of that day.")
@click.option("--clear", is_flag=True, help="Remove every out-of-office range instead.")
@with_settings
def ooo(settings: Settings, owner_id: str, start: str | None, end: str | None, clear: bool) -> None:
    """Add an out-of-office range to OWNER_ID (or --clear them all)."""
    if clear:
        _change(settings, owner_id, lambda o: replace(o, out_of_office=()), "out of office cleared")
        return
    if not start or not end:
        _fail(EXIT_BAD_INPUT, "Give both --from and --until (or --clear).")

    def add(owner: Owner) -> Owner:
        added = absences([{"from": start, "until": end}], owner.time_zone)
        return replace(owner, out_of_office=tuple(sorted((*owner.out_of_office, *added))))

    _change(settings, owner_id, add, f"out of office {start} → {end}")


def _cap_value(text: str | None, name: str) -> int | None:
    if text is None or text.lower() == "none":
        return None
    if not text.isdigit():
        _fail(EXIT_BAD_INPUT, f"{name} must be a whole number >= 0, or 'none' for no cap (got {text!r}).")
    return int(text)


@owners.command("set-cap")
@click.argument("owner_id")
@click.option("--per-hour", help="Most leads per owner-local hour; 'none' removes the cap.")
@click.option("--per-day", help="Most leads per owner-local day; 'none' removes the cap.")
@with_settings
def set_cap(settings: Settings, owner_id: str, per_hour: str | None, per_day: str | None) -> None:
    """Change OWNER_ID's hourly and/or daily cap."""
    if per_hour is None and per_day is None:
        _fail(EXIT_BAD_INPUT, "Give --per-hour and/or --per-day.")
    changes: dict[str, int | None] = {}
    if per_hour is not None:
        changes["cap_per_hour"] = _cap_value(per_hour, "--per-hour")
    if per_day is not None:
        changes["cap_per_day"] = _cap_value(per_day, "--per-day")
    text = ", ".join(f"{k} {v if v is not None else 'none'}" for k, v in changes.items())
    _change(settings, owner_id, lambda o: replace(o, **changes), text)  # type: ignore[arg-type]


@owners.command("fairness")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@with_settings
def fairness(settings: Settings, as_json: bool) -> None:
    """Per owner: assigned today and this week (owner-local), the expected share and the deficit."""

    found = _current(settings)
    now = _now_ms()
    ordered = sorted(found.values(), key=lambda o: (o.team, o.id))
    wanted = [(o.id, *buckets(local_time(o, now))[1:]) for o in ordered]
    try:
        rows = wiring.assignment_ledger(settings).fairness(wanted, now)
    except DependencyUnavailable as error:
        _fail(EXIT_REDIS_DOWN, f"Redis at {settings.redis_location()} is unreachable: {error}")
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "owner_id": r.owner_id,
                        "team": o.team,
                        "status": o.status,
                        "assigned_today": r.assigned_today,
                        "assigned_week": r.assigned_week,
                        "pool_placements_today": r.placed_today,
                        "pool_placements_week": r.placed_week,
                        "expected_today": round(r.expected_today, 3),
                        "expected_week": round(r.expected_week, 3),
                        "deficit_today": round(r.deficit_today, 3),
                        "deficit_week": round(r.deficit_week, 3),
                    }
                    for r, o in zip(rows, ordered, strict=True)
                ]
            )
        )
        return
    table = Table(title="Fairness (owner-local today and ISO week; expected = share of pool placements)")
    for column in (
        "owner",
        "team",
        "today",
        "this week",
        "expected today",
        "expected week",
        "deficit week",
        "status",
    ):
        table.add_column(column, justify="right" if column not in ("owner", "team", "status") else "left")
    for r, o in zip(rows, ordered, strict=True):
        colour = "red" if r.deficit_week >= 1 else "green" if r.deficit_week > -1 else "yellow"
        table.add_row(
            o.id,
            o.team,
            str(r.assigned_today),
            str(r.assigned_week),
            f"{r.expected_today:.1f}",
            f"{r.expected_week:.1f}",
            f"[{colour}]{r.deficit_week:+.1f}[/]",
            o.status,
        )
    Console().print(table)
