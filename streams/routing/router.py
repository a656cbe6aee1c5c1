"""Builds the in-process router for batch routing, ``explain`` and ``simulate``.

The stream reads owners and routing state from Redis; these tools route
without a broker, so they take the owners from a file and decide with an
in-memory ledger that keeps the same semantics as the Redis one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors.config import ConfigError
from processors.crm.memory import InMemoryCrmMirror
from processors.crm.models import RECORD_KINDS, RecordKind
from processors.enrichment.enricher import Enricher
from processors.owners.loader import parse_owners
from processors.owners.memory import StaticOwners
from processors.owners.models import Owner
from processors.pipeline import Router
from processors.ports import Clock, CrmMirror, SystemClock
from processors.routing.ledger import AssignmentLedger
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet
from streams.settings import Settings
from streams.wiring import build_enricher_for, matcher_for, segmenter_for

#: The example rule set and the team it names, shipped for the demo and for trying rules.
EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "processors" / "rules" / "data" / "example.yaml"
DEMO_OWNERS = Path(__file__).resolve().parents[1] / "data" / "demo-owners.yaml"


def read_owners(path: str | Path) -> list[Owner]:
    """Owners from a YAML or CSV file; ConfigError (file:line: reason) if unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(
            str(path), None, f"cannot read the owners file: {error.strerror or error}"
        ) from None
    return parse_owners(text, str(path))


def owners_for(settings: Settings, path: str | None = None) -> list[Owner]:
    chosen = path or settings.owners_file
    return read_owners(chosen) if chosen else []


@dataclass(slots=True)
class CrmFilesReport:
    """What went into an in-memory CRM from CSV exports: per kind, records kept and rows refused."""

    records: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    #: The first refused rows: file, line and why.
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "rejections": self.rejections,
        }


def crm_from_files(
    files: Mapping[RecordKind, str | Path], *, max_candidates: int, shown: int = 20
) -> tuple[InMemoryCrmMirror, CrmFilesReport]:
    """A CRM mirror in memory, filled from the CSV exports ``leadroute crm load`` reads.

    The same reader as ``crm load`` (same columns, header aliases and row checks);
    every header is checked before any row is read, and a file that cannot be read
    as its kind raises :class:`~streams.crm.csv_records.CsvFormatError`. A refused
    row is counted and skipped, as ``crm load`` does; a row marked deleted removes
    the record a file before it added.
    """
    from streams.crm.csv_records import CrmCsvReader

    readers = [CrmCsvReader(kind, Path(files[kind])) for kind in RECORD_KINDS if kind in files]
    mirror = InMemoryCrmMirror(max_candidates=max_candidates)
    report = CrmFilesReport()
    for reader in readers:
        kept = deleted = rejected = 0
        for row in reader:
            if row.deleted_id is not None:
                mirror.delete(reader.kind, row.deleted_id)
                deleted += 1
            elif row.record is not None:
                mirror.upsert(reader.kind, row.record)
                kept += 1
            else:
                rejected += 1
                if len(report.rejections) < shown:
                    report.rejections.append(
                        {"file": str(reader.path), "line": row.line, "reason": row.rejection}
                    )
        report.records[reader.kind] = kept
        report.deleted[reader.kind] = deleted
        report.rejected[reader.kind] = rejected
    return mirror, report


def in_process_router(
    settings: Settings,
    *,
    rules: RuleSet,
    owners: Sequence[Owner],
    mirror: CrmMirror | None = None,
    enricher: Enricher | None = None,
    ledger: AssignmentLedger | None = None,
    clock: Clock | None = None,
) -> Router:
    return Router(
        rules=rules,
        owners=StaticOwners(owners),
        ledger=ledger or InMemoryLedger(),
        clock=clock or SystemClock(),
        enricher=enricher or build_enricher_for(settings),
        matcher=matcher_for(settings),
        mirror=mirror or InMemoryCrmMirror(max_candidates=settings.match_name_candidates),
        segmenter=segmenter_for(settings),
        last_resort_queue=settings.default_queue,
        max_custom_bytes=settings.max_custom_bytes,
        duplicate_window_s=settings.duplicate_window_days * 86_400,
    )
