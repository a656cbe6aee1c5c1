"""``leadroute crm load``: CSV files of CRM records → change events on the compacted ``crm.*`` topics.

The first way to fill the CRM mirror: export accounts, contacts, leads and
opportunities from the CRM, load them, and the crm-sync stage indexes them.
Loading again is safe: events are keyed by record id, the producer is
idempotent, and compaction keeps only the latest event per id. A row marked
deleted publishes a tombstone.

Every file's header is checked before anything is published, so a wrong file
fails fast instead of half-loading; then each row is published or rejected
with its line number and a sentence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from processors.crm.models import RECORD_KINDS, RecordKind
from streams import topics
from streams.crm.csv_records import CrmCsvReader, CsvFormatError
from streams.events import crm as crm_events
from streams.settings import Settings

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_BAD_FILE = 2
EXIT_TOPICS_MISSING = 3
EXIT_BROKER_UNREACHABLE = 4
#: Rejections and warnings listed per file; the counts are always complete.
SHOWN = 20
_FLUSH_TIMEOUT_S = 60.0
_PROGRESS_EVERY = 2_000


@dataclass
class FileReport:
    """What happened to one file's rows."""

    kind: str
    path: str
    topic: str
    rows: int = 0
    published: int = 0  # upserts the broker acknowledged
    deleted: int = 0  # tombstones the broker acknowledged
    rejected: int = 0
    warnings: int = 0
    failed: int = 0  # events the broker did not acknowledge
    ignored_columns: list[str] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN
    warning_samples: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN


@dataclass
class LoadReport:
    bootstrap: str
    files: list[FileReport] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: str | None = None
    exit_code: int = EXIT_OK

    @property
    def records_per_second(self) -> float | None:
        done = sum(f.published + f.deleted for f in self.files)
        return round(done / self.elapsed_s, 1) if self.elapsed_s else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_second": self.records_per_second}


def producer_config(settings: Settings) -> dict[str, Any]:
    """Idempotent, acks=all: a retried send never duplicates or reorders events of one id."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "linger.ms": 20,
        **settings.producer_config(),
        "enable.idempotence": True,
        "acks": "all",
    }


class CrmPublisher:
    """Publishes upserts and tombstones and counts what the broker acknowledged, per kind."""

    def __init__(self, settings: Settings, *, producer: Producer | None = None) -> None:
        self.settings = settings
        self.producer = producer or Producer(producer_config(settings))
        self.topics = {kind: topics.name(settings, topics.CRM_TOPICS[kind]) for kind in RECORD_KINDS}
        self.kind_of_topic = {topic: kind for kind, topic in self.topics.items()}
        self.acked: dict[str, int] = dict.fromkeys(RECORD_KINDS, 0)
        self.deleted: dict[str, int] = dict.fromkeys(RECORD_KINDS, 0)
        self.failed: dict[str, int] = dict.fromkeys(RECORD_KINDS, 0)
        self.first_error: str | None = None

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        kind = self.kind_of_topic.get(message.topic() or "", "account")
        if error is not None:
            self.failed[kind] += 1
            self.first_error = self.first_error or error.str()
        elif message.value() is None:
            self.deleted[kind] += 1
        else:
            self.acked[kind] += 1

    def _produce(self, kind: RecordKind, event: crm_events.Event) -> None:
        key, value, headers = event
        while True:
            try:
                self.producer.produce(
                    self.topics[kind], key=key, value=value, headers=headers, on_delivery=self._delivered
                )
                break
            except BufferError:
                self.producer.poll(0.05)  # the local queue is full: let deliveries drain it
        self.producer.poll(0)

    def publish(self, kind: RecordKind, record: Any) -> None:
        self._produce(kind, crm_events.encode(kind, record))

    def delete(self, kind: RecordKind, record_id: str) -> None:
        self._produce(kind, crm_events.tombstone(kind, record_id))

    def tee(self, records: Iterable[tuple[RecordKind, Any]]) -> Iterator[tuple[RecordKind, Any]]:
        """Publishes each record as it passes through (``crm generate --publish`` writes CSVs too)."""
        for kind, record in records:
            self.publish(kind, record)
            yield kind, record

    def flush(self, timeout: float = _FLUSH_TIMEOUT_S) -> int:
        """Waits for every acknowledgement; returns how many events are still not acknowledged."""
        return int(self.producer.flush(timeout))


def preflight(settings: Settings) -> tuple[int, str] | None:
    """(exit code, sentence) when the broker cannot take CRM events; None when it can."""
    wanted = [topics.name(settings, topics.CRM_TOPICS[kind]) for kind in RECORD_KINDS]
    try:
        missing = topics.missing_topics(settings, wanted)
    except KafkaException as error:
        return EXIT_BROKER_UNREACHABLE, f"Kafka at {settings.kafka_bootstrap} is unreachable: {error}"
    if missing:
        return (
            EXIT_TOPICS_MISSING,
            f"The topics {', '.join(missing)} do not exist; run 'leadroute topics create' first.",
        )
    return None


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def load_csv_files(
    settings: Settings,
    files: dict[RecordKind, str | Path],
    *,
    progress: bool = True,
    as_json: bool = False,
    shown: int = SHOWN,
    console: Console | None = None,
) -> LoadReport:
    """Publish every row of ``files`` (kind → CSV path), print the report, and return it.

    Exit codes in ``report.exit_code``: 0 every row loaded; 1 some rows rejected;
    2 a file cannot be read as its kind; 3 CRM topics missing; 4 Kafka unreachable
    or did not acknowledge every event.
    """
    console = console or Console(stderr=True)
    report = LoadReport(bootstrap=settings.kafka_bootstrap)
    started = time.perf_counter()
    readers: list[CrmCsvReader] = []
    try:
        for kind in RECORD_KINDS:
            if kind in files:
                readers.append(CrmCsvReader(kind, Path(files[kind])))
    except (CsvFormatError, OSError) as error:
        return _finish(report, EXIT_BAD_FILE, str(error), as_json, console, started)
    if not readers:
        message = "No file given: pass at least one of --accounts, --contacts, --leads, --opportunities."
        return _finish(report, EXIT_BAD_FILE, message, as_json, console, started)
    problem = preflight(settings)
    if problem is not None:
        return _finish(report, *problem, as_json, console, started)

    publisher = CrmPublisher(settings)
    with Progress(
        TextColumn("{task.fields[name]:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress or as_json or not console.is_terminal,
    ) as bar:
        for reader in readers:
            file_report = FileReport(
                kind=reader.kind,
                path=str(reader.path),
                topic=publisher.topics[reader.kind],
                ignored_columns=list(reader.ignored),
            )
            report.files.append(file_report)
            task = bar.add_task("load", total=_count_lines(reader.path), name=reader.path.name)
            for row in reader:
                file_report.rows += 1
                if row.warnings:
                    file_report.warnings += 1
                    if len(file_report.warning_samples) < shown:
                        file_report.warning_samples.append({"line": row.line, "warnings": list(row.warnings)})
                if row.deleted_id is not None:
                    publisher.delete(reader.kind, row.deleted_id)
                elif row.record is not None:
                    publisher.publish(reader.kind, row.record)
                else:
                    file_report.rejected += 1
                    if len(file_report.rejections) < shown:
                        file_report.rejections.append({"line": row.line, "reason": row.rejection})
                if file_report.rows % _PROGRESS_EVERY == 0:
                    bar.update(task, completed=file_report.rows)
            bar.update(task, completed=file_report.rows)
        unacknowledged = publisher.flush()
    for file_report in report.files:
        file_report.published = publisher.acked[file_report.kind]
        file_report.deleted = publisher.deleted[file_report.kind]
        file_report.failed = publisher.failed[file_report.kind]
    failed = sum(publisher.failed.values()) + unacknowledged
    if failed:
        reason = publisher.first_error or f"no acknowledgement within {_FLUSH_TIMEOUT_S:.0f}s"
        message = f"Kafka at {settings.kafka_bootstrap} did not acknowledge {failed} events: {reason}"
        return _finish(report, EXIT_BROKER_UNREACHABLE, message, as_json, console, started)
    code = EXIT_REJECTED if any(f.rejected for f in report.files) else EXIT_OK
    return _finish(report, code, None, as_json, console, started)


def _finish(
    report: LoadReport, code: int, error: str | None, as_json: bool, console: Console, started: float
) -> LoadReport:
    report.exit_code = code
    report.error = error
    report.elapsed_s = round(time.perf_counter() - started, 3)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        render(report, console)
    return report


def render(report: LoadReport, console: Console) -> None:
    """The report as a table, then the first rejections and warnings with their line numbers."""
    if report.files:
        table = Table(title=f"CRM load to {report.bootstrap}")
        for column in ("file", "topic", "rows", "published", "deleted", "rejected", "warnings"):
            table.add_column(column, justify="left" if column in ("file", "topic") else "right")
        for f in report.files:
            rejected = f"[yellow]{f.rejected}[/]" if f.rejected else "0"
            table.add_row(
                Path(f.path).name,
                f.topic,
                str(f.rows),
                str(f.published),
                str(f.deleted),
                rejected,
                str(f.warnings),
            )
        Console().print(table)
    for f in report.files:
        name = Path(f.path).name
        if f.ignored_columns:
            console.print(f"[dim]{name}: columns not read: {', '.join(f.ignored_columns)}[/]")
        for rejection in f.rejections:
            console.print(f"[yellow]{name}:{rejection['line']}[/] rejected: {rejection['reason']}")
        if f.rejected > len(f.rejections):
            console.print(f"[yellow]{name}[/]: … and {f.rejected - len(f.rejections)} more rejected rows")
        for sample in f.warning_samples:
            console.print(f"[dim]{name}:{sample['line']}[/] {' '.join(sample['warnings'])}")
        if f.warnings > len(f.warning_samples):
            console.print(
                f"[dim]{name}: … and {f.warnings - len(f.warning_samples)} more rows with warnings[/]"
            )
    if report.error:
        console.print(f"[red]{report.error}[/]")
    elif report.files:
        console.print(
            f"[green]Published {sum(f.published for f in report.files)} records and "
            f"{sum(f.deleted for f in report.files)} deletes[/] in {report.elapsed_s:.1f}s "
            f"({report.records_per_second or 0:,.0f}/s)."
        )


def generate_files(
    settings: Settings,
    *,
    accounts: int,
    out: str | Path,
    seed: int,
    demo_seed: int,
    publish: bool,
    as_json: bool,
    progress: bool = True,
    console: Console | None = None,
) -> int:
    """``leadroute crm generate``: write the synthetic CRM as CSVs, and publish it too with ``publish``.

    Publishing streams each record as it is generated rather than reloading
    the CSVs, so a million accounts do not pay for normalization twice.
    Returns the exit code: 0 written (and acknowledged); 3 topics missing; 4 Kafka unreachable.
    """
    from streams.crm.synthetic import generate_crm, write_csv

    console = console or Console(stderr=True)
    if publish:
        problem = preflight(settings)
        if problem is not None:
            console.print(f"[red]{problem[1]}[/]")
            return problem[0]
    publisher = CrmPublisher(settings) if publish else None
    started = time.perf_counter()
    with Progress(
        TextColumn("generating accounts"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress or as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task("generate", total=accounts)

        def counted(records: Iterable[tuple[RecordKind, Any]]) -> Iterator[tuple[RecordKind, Any]]:
            made = 0
            for kind, record in records:
                if kind == "account":
                    made += 1
                    if made % _PROGRESS_EVERY == 0:
                        bar.update(task, completed=made)
                yield kind, record
            bar.update(task, completed=made)

        stream = counted(generate_crm(accounts, seed=seed, demo_seed=demo_seed))
        written = write_csv(out, publisher.tee(stream) if publisher else stream)
        unacknowledged = publisher.flush() if publisher else 0
    elapsed = time.perf_counter() - started
    total = sum(written.counts.values())
    summary: dict[str, Any] = {
        "directory": str(out),
        "seed": seed,
        "demo_seed": demo_seed,
        "files": {
            kind: {
                "path": str(written.paths[kind]),
                "records": written.counts[kind],
                **({"published": publisher.acked[kind]} if publisher else {}),
            }
            for kind in RECORD_KINDS
        },
        "records": total,
        "elapsed_s": round(elapsed, 3),
        "records_per_second": round(total / elapsed, 1) if elapsed else None,
    }
    failed = (sum(publisher.failed.values()) + unacknowledged) if publisher else 0
    if failed and publisher is not None:
        summary["error"] = (
            f"Kafka at {settings.kafka_bootstrap} did not acknowledge {failed} events: "
            f"{publisher.first_error or 'no acknowledgement in time'}"
        )
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        table = Table(title=f"Synthetic CRM in {out} (seed {seed})")
        for column in ("file", "records", *(["published"] if publisher else [])):
            table.add_column(column, justify="left" if column == "file" else "right")
        for kind in RECORD_KINDS:
            row = [written.paths[kind].name, f"{written.counts[kind]:,}"]
            if publisher:
                row.append(f"{publisher.acked[kind]:,}")
            table.add_row(*row)
        Console().print(table)
        console.print(f"{total:,} records in {elapsed:.1f}s ({total / elapsed if elapsed else 0:,.0f}/s).")
        if failed:
            console.print(f"[red]{summary['error']}[/]")
    return EXIT_BROKER_UNREACHABLE if failed else EXIT_OK
