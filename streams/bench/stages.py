"""``leadroute bench``: throughput and latency figures, each with its baseline.

Figures come from this machine at the time of the run; compare rows of one run,
not runs on different machines.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from processors.crm.memory import InMemoryCrmMirror
from processors.owners.memory import StaticOwners
from processors.ports import SystemClock
from processors.routing.memory_ledger import InMemoryLedger
from streams.demo.synthetic import generate
from streams.settings import Settings
from streams.stages import assign, enrich, match, normalize, segment
from streams.stages.base import BatchStep, Message, StageStep, lead_step
from streams.wiring import build_enricher_for


def _messages(values: list[bytes]) -> list[Message]:
    return [
        Message(value=v, key=None, headers=[], topic="bench", partition=0, offset=i, timestamp_ms=0)
        for i, v in enumerate(values)
    ]


def _rate(
    step: StageStep | BatchStep, messages: list[Message], batch_size: int = 500
) -> tuple[float, list[bytes]]:
    started = time.perf_counter()
    if isinstance(step, BatchStep):
        outputs = [
            routed.value
            for start in range(0, len(messages), batch_size)
            for routed in step(messages[start : start + batch_size])
        ]
    else:
        outputs = [step(message).value for message in messages]
    return len(messages) / (time.perf_counter() - started), outputs


def stage_throughput(settings: Settings, lead_count: int) -> list[dict[str, Any]]:
    """Leads/s of each stage step on the same synthetic leads, and of a pass-through."""
    clock = SystemClock()
    raw = [
        json.dumps(m.payload).encode()
        for m in generate(lead_count, seed=11, invalid_share=0, garbage_share=0)
    ]
    normalize_rate, leads = _rate(normalize.build_step(settings, clock), _messages(raw))
    lead_messages = _messages(leads)
    baseline_rate, _ = _rate(lead_step("pass-through", lambda lead: lead, clock), lead_messages)
    rows: list[dict[str, Any]] = [
        {"step": "pass-through (decode + encode a Lead)", "leads_per_second": baseline_rate}
    ]
    rows.append({"step": "normalize (JSON in)", "leads_per_second": normalize_rate})
    for label, provider in (("no firmographics", "none"), ("+ dataset firmographics", "dataset")):
        enricher = build_enricher_for(settings.with_overrides(firmographics=provider))
        enricher.clear_caches()  # each variant starts cold, as a fresh worker would
        rate, _ = _rate(enrich.build_step(settings, clock, enricher), lead_messages)
        rows.append({"step": f"enrich ({label}, cold caches)", "leads_per_second": rate})
    rate, _ = _rate(match.build_step(settings, clock, mirror=InMemoryCrmMirror()), lead_messages)
    rows.append({"step": "match (empty in-memory CRM; see 'bench match')", "leads_per_second": rate})
    rate, _ = _rate(segment.build_step(settings, clock), lead_messages)
    rows.append({"step": segment.NAME, "leads_per_second": rate})
    from streams.routing.rules_source import RulesSource, default_rules

    rules = RulesSource(None, fallback=default_rules(settings.default_queue, settings.default_channel))
    assign_step = assign.build_step(
        settings, clock, ledger=InMemoryLedger(), owners=StaticOwners(), rules=rules
    )
    rate, _ = _rate(assign_step, lead_messages)
    rows.append(
        {"step": "assign (default rules, in-memory ledger; see 'bench assign')", "leads_per_second": rate}
    )
    for row in rows:
        row["leads_per_second"] = round(row["leads_per_second"], 1)
        row["vs_baseline"] = round(row["leads_per_second"] / baseline_rate, 3)
    return rows


def render_rows(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(
            column.replace("_", " "),
            justify="left" if column in ("step", "processing_guarantee") else "right",
        )
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)
