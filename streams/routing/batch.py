"""``leadroute route``: the same processors, in-process, over a file of leads.

For list imports and dry runs: no broker. A line that is not a lead is reported
with its line number and skipped; every other line gets an assignment. The
assignments are JSON lines, or, when the output's name ends in ``.csv``, one
flat row each for a spreadsheet, written so that no cell runs as a formula.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from processors.crm.memory import InMemoryCrmMirror
from processors.enrichment.enricher import Enricher
from processors.errors import InvalidLead
from processors.intake import parse_json, raw_lead_from_json
from processors.models import Assignment
from processors.owners.memory import StaticOwners
from processors.pipeline import Router, route_raw_lead
from processors.ports import CrmMirror, FrozenClock, OwnerDirectory, SystemClock
from processors.routing.ledger import AssignmentLedger
from processors.routing.memory_ledger import InMemoryLedger
from streams import wiring
from streams.csv_safe import SafeWriter
from streams.redis_client import redis_answers
from streams.routing.output import OutputShape
from streams.routing.router import owners_for
from streams.routing.rules_source import rules_for
from streams.settings import Settings

#: A CSV cell that held nothing is no value, not an empty string.
_EMPTY = ("", None)
#: What ``errors="surrogateescape"`` makes of bytes that are not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def read_documents(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded document or the InvalidLead that explains why not).

    A line that is not valid UTF-8 is rejected on its own, like any other bad
    line, instead of stopping the whole file.
    """
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
            yield from _csv_rows(handle)
    else:
        with path.open("rb") as binary:
            yield from _json_lines(binary)


def _json_lines(handle: IO[bytes]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_json(line)
        except InvalidLead as error:  # the stream's own rules: depth, long numbers, broken text
            yield number, error


def _csv_rows(handle: IO[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(handle)
    for row in reader:
        number = reader.line_num
        if None in row:
            yield (
                number,
                InvalidLead(
                    "schema_violation",
                    f"The row has {len(row) - 1 + len(row[None])} cells; the header has {len(row) - 1}.",
                ),
            )
            continue
        if any(_NOT_UTF8.search(text) for pair in row.items() for text in pair if text):
            yield number, InvalidLead("undecodable", "The row is not UTF-8 text; save the file as UTF-8.")
            continue
        yield number, {key: value for key, value in row.items() if value not in _EMPTY}


#: Columns of ``--output FILE.csv``: one row per assignment, for people and spreadsheets.
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company",
    "destination_type",
    "destination",
    "owner",
    "channel",
    "route",
    "decided_at",
    "replayed",
    "reason",
    "decision_path",
)


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def assignment_row(assignment: Assignment) -> list[object]:
    """One assignment as the cells of ASSIGNMENT_COLUMNS; the company is as the lead sent it."""
    return [
        assignment["lead_id"],
        assignment["lead"]["raw"].get("company") or "",
        assignment["destination_type"],
        assignment["destination"],
        assignment["destination"] if assignment["destination_type"] == "owner" else "",
        assignment["channel"],
        assignment["route"] or "",
        _iso(assignment["decided_at_ms"]),
        "true" if assignment["replayed"] else "false",
        assignment["reason"],
        " | ".join(assignment["decision_path"]),
    ]


def _store(
    settings: Settings, state: str, crm: CrmMirror | None = None
) -> tuple[AssignmentLedger, CrmMirror, OwnerDirectory, str]:
    """Ledger, CRM mirror and owners: the stream's, in Redis, or in memory (an empty CRM).

    Owners come from LEADROUTE_OWNERS_FILE when it is set, else (in Redis) from
    what owner-sync keeps there; the CRM from ``crm`` (CSV exports loaded in
    memory) when given, else from the mirror crm-sync keeps in Redis.
    """
    owners_file = owners_for(settings)
    if state == "memory" or (state == "auto" and not redis_answers(settings)):
        mirror = crm or InMemoryCrmMirror(max_candidates=settings.match_name_candidates)
        return InMemoryLedger(), mirror, StaticOwners(owners_file), "memory"

    owners: OwnerDirectory = (
        StaticOwners(owners_file) if settings.owners_file else wiring.owner_directory(settings)
    )
    return (
        wiring.assignment_ledger(settings),
        crm or wiring.crm_mirror(settings),
        owners,
        f"redis ({settings.redis_location()})",
    )


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def run_batch(
    settings: Settings,
    *,
    input_path: str,
    output_path: str,
    rejects_path: str | None,
    state: str,
    as_json: bool,
    enricher: Enricher | None = None,
    crm: CrmMirror | None = None,
    at_ms: int | None = None,
    shape: OutputShape | None = None,
    crm_report: dict[str, Any] | None = None,
) -> int:
    """Routes every line of ``input_path``; returns the exit code (0 all routed, 1 some rejected).

    ``crm`` is the CRM to match against instead of the state's; ``at_ms`` freezes
    the clock (working hours, out of office, caps and their hour/day/week buckets
    all follow it); ``shape`` says what of each assignment is written.
    """
    console = Console(stderr=True)
    source = Path(input_path)
    shape = shape or OutputShape()
    rules = rules_for(settings)
    ledger, mirror, owners, state_used = _store(settings, state, crm)
    if enricher is None:
        from streams.wiring import build_enricher_for

        enricher = build_enricher_for(settings)
    from streams.wiring import matcher_for, segmenter_for

    router = Router(
        rules=rules,
        owners=owners,
        ledger=ledger,
        clock=SystemClock() if at_ms is None else FrozenClock(at_ms),
        enricher=enricher,
        matcher=matcher_for(settings),
        mirror=mirror,
        segmenter=segmenter_for(settings),
        last_resort_queue=settings.default_queue,
        max_custom_bytes=settings.max_custom_bytes,
        duplicate_window_s=settings.duplicate_window_days * 86_400,
    )
    destinations: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    rejected: list[dict[str, Any]] = []
    routed = 0
    started = time.perf_counter()
    total = _count_lines(source)
    as_csv = Path(output_path).suffix.lower() == ".csv"
    with (
        open(output_path, "w", encoding="utf-8", newline="" if as_csv else None) as output,
        Progress(
            TextColumn("routing {task.fields[name]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json or not console.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("route", total=total, name=source.name)
        writer = SafeWriter(output) if as_csv else None
        if writer is not None:
            writer.writerow(shape.columns or ASSIGNMENT_COLUMNS)
        for number, document in read_documents(source):
            progress.update(task, completed=number)
            try:
                if isinstance(document, InvalidLead):
                    raise document
                raw = raw_lead_from_json(document)
                assignment = route_raw_lead(raw, received_at_ms=router.clock.now_ms(), router=router)
            except InvalidLead as error:
                reasons[error.code] += 1
                rejected.append({"line": number, "code": error.code, "reason": error.message})
                if not as_json:
                    console.print(
                        f"[yellow]{source.name}:{number}[/] rejected ({error.code}): {error.message}"
                    )
                continue
            if writer is not None:
                writer.writerow(shape.row(assignment) if shape.columns else assignment_row(assignment))
            else:
                output.write(shape.line(assignment))
            destinations[f"{assignment['destination_type']}:{assignment['destination']}"] += 1
            channels[assignment["channel"]] += 1
            routed += 1
    if rejects_path:
        with open(rejects_path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected)
    elapsed = time.perf_counter() - started
    summary = {
        "input": os.fspath(source),
        "output": output_path,
        "state": state_used,
        "routed": routed,
        "rejected": len(rejected),
        "rejected_lines": [r["line"] for r in rejected[:100]],
        "rules_version": rules.version,
        "at": None if at_ms is None else _iso(at_ms),
        "by_destination": dict(destinations.most_common()),
        "by_channel": dict(channels.most_common()),
        "reject_reasons": dict(reasons.most_common()),
        "leads_per_second": round((routed + len(rejected)) / elapsed, 1) if elapsed else None,
    }
    if crm_report is not None:
        summary["crm"] = crm_report
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        table = Table(title=f"Routed {source.name}", show_header=False)
        for key in ("routed", "rejected", "state", "rules_version", "at", "leads_per_second", "output"):
            if summary[key] is not None or key != "at":
                table.add_row(key.replace("_", " "), str(summary[key]))
        for name, count in channels.most_common():
            table.add_row(f"channel {name}", str(count))
        for name, count in destinations.most_common():
            table.add_row(f"→ {name}", str(count))
        Console().print(table)
    return 1 if rejected else 0
