"""``leadroute enrich`` and ``leadroute firmographics``: enrichment for one lead or one domain, on demand.

For the question a RevOps person asks most: "why does this lead say EMEA?".
The same enricher the stage builds is used, so the answer is the stage's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from processors.enrichment.enricher import SECTION_FIELDS
from processors.enrichment.models import Lookup
from processors.lead import new_lead
from processors.models import Lead
from processors.normalize import lead_id_for, normalize_lead
from processors.ports import FirmographicsProvider
from streams.cli.options import console, exit_on_bad_configuration, with_settings
from streams.settings import Settings
from streams.wiring import build_enricher_for

#: Exit codes of ``leadroute firmographics lookup``.
EXIT_FOUND, EXIT_NOT_FOUND, EXIT_UNAVAILABLE = 0, 1, 5


def enrich_document(settings: Settings, document: Any) -> Lead:
    """Normalize and enrich one lead given as decoded JSON; raises InvalidLead for a non-lead."""
    from processors.intake import raw_lead_from_json

    raw = raw_lead_from_json(document)
    lead = new_lead(lead_id_for(raw), raw, received_at_ms=0)
    lead["normalized"] = normalize_lead(raw)
    return build_enricher_for(settings).enrich(lead)


def _text(value: object) -> str:
    if value is None or value == []:
        return "[dim]–[/]"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def render_section(section: dict[str, Any], console: Console) -> None:
    table = Table(title="Enrichment")
    for column, justify in (
        ("field", "left"),
        ("value", "left"),
        ("source", "left"),
        ("confidence", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    provenance = section.get("provenance") or {}
    for name in SECTION_FIELDS:
        if name in ("provenance", "conflicts", "flags"):
            continue
        where = provenance.get(name)
        table.add_row(
            name,
            _text(section.get(name)),
            where["source"] if where else "",
            f"{where['confidence']:.2f}" if where else "",
        )
    console.print(table)
    if section.get("conflicts"):
        conflicts = Table(title="Conflicts (the kept value wins; the other is only recorded)")
        for column in ("field", "kept", "from", "other", "from "):
            conflicts.add_column(column)
        for c in section["conflicts"]:
            conflicts.add_row(c["field"], c["value"], c["source"], c["other_value"], c["other_source"])
        console.print(conflicts)
    console.print(f"flags: {', '.join(section.get('flags') or []) or 'none'}")


def lookup_domain(settings: Settings, domain: str) -> tuple[str, Lookup]:
    """(provider name, answer) from the configured provider, cache included."""
    provider: FirmographicsProvider | None = build_enricher_for(settings).firmographics
    if provider is None:
        raise ValueError("no firmographics provider is configured: set LEADROUTE_FIRMOGRAPHICS")
    return provider.name, provider.lookup(domain.strip().lower())


def render_lookup(provider: str, domain: str, answer: Lookup, *, as_json: bool) -> int:
    payload = {
        "provider": provider,
        "domain": domain,
        "outcome": answer.outcome,
        "cached": answer.cached,
        "record": answer.record,
        "detail": answer.detail,
    }
    if as_json:
        print(json.dumps(payload, indent=2))
    else:
        table = Table(title=f"{domain} at {provider}: {answer.outcome}{' (cached)' if answer.cached else ''}")
        table.add_column("field")
        table.add_column("value")
        for name, value in (answer.record or {}).items():
            table.add_row(name, _text(value))
        if answer.detail:
            table.add_row("detail", answer.detail)
        Console().print(table)
    if answer.outcome == "found":
        return EXIT_FOUND
    return EXIT_NOT_FOUND if answer.outcome == "not_found" else EXIT_UNAVAILABLE


@click.command()
@click.argument("lead_file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--json", "as_json", is_flag=True, help="Print the whole lead, enrichment included, as JSON.")
@with_settings
def enrich(settings: Settings, lead_file: Any, as_json: bool) -> None:
    """Show what enrichment infers for one lead (a JSON object in LEAD_FILE or on stdin), and why.

    Uses the same reference data, overrides and firmographics provider as the
    enrich stage. Exit codes: 0 enriched; 1 not a lead (the reason is printed);
    2 bad configuration.
    """
    from processors.errors import InvalidLead
    from processors.intake import parse_json

    try:
        document = parse_json(lead_file.read())  # the stream's limits: depth, long numbers, broken text
        lead = enrich_document(settings, document)
    except InvalidLead as error:
        console.print(f"[red]Not a lead ({error.code}):[/] {error.message}")
        sys.exit(1)
    except ValueError as error:
        exit_on_bad_configuration(error)
        return
    if as_json:
        click.echo(json.dumps(lead, indent=2, ensure_ascii=False))
    else:
        render_section(dict(lead["enrichment"] or {}), Console())


@click.group()
def firmographics() -> None:
    """The firmographics provider: look a domain up, or write the demo's sample dataset."""


@firmographics.command("lookup")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@with_settings
def firmographics_lookup(settings: Settings, domain: str, as_json: bool) -> None:
    """Ask the configured provider (through the cache) about DOMAIN.

    Exit codes: 0 found; 1 not found; 2 bad configuration; 5 the provider
    could not answer (unavailable, rate limited or circuit open).
    """

    try:
        provider, answer = lookup_domain(settings, domain)
    except ValueError as error:
        exit_on_bad_configuration(error)
        return
    sys.exit(render_lookup(provider, domain, answer, as_json=as_json))


@firmographics.command("sample")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    show_default=True,
    help="Where to write the CSV.",
)
@click.option("--companies", "count", type=click.IntRange(1), default=400, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed the demo's leads use too.")
def firmographics_sample(out_path: str, count: int, seed: int) -> None:
    """Write a dataset in the documented CSV format for the synthetic companies (what ships for the demo)."""
    from streams.demo.synthetic import companies, firmographics_csv

    text = firmographics_csv(companies(count, seed=seed))
    with click.open_file(out_path, "w", encoding="utf-8") as handle:
        handle.write(text)
