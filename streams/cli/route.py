"""``leadroute route``: a file of leads routed in-process, with no broker."""

from __future__ import annotations

import sys
from dataclasses import replace

import click

from streams.cli.options import console, exit_on_bad_configuration, with_settings
from streams.cli.routing import crm_csv_options, crm_mirror_from, parse_at
from streams.settings import IN_PROCESS_SETTINGS, Settings


@click.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Leads as JSON lines (.jsonl) or CSV with a header row (.csv).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Where to write one assignment per line: JSONL with the whole event (or less: --compact, "
    "--output-fields), or, for a name ending "
    "in .csv, a CSV for spreadsheets (lead_id, company, destination_type, destination, owner, channel, "
    "route, decided_at, replayed, reason, decision_path); cells that would run as a formula start "
    "with an apostrophe.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="The routing rules (YAML, docs/rules.md) [default: LEADROUTE_RULES_FILE, else every lead "
    "to the default queue].",
)
@click.option(
    "--owners",
    "owners_path",
    type=click.Path(exists=True, dir_okay=False),
    help="The owners (YAML or CSV, docs/owners.md) [default: LEADROUTE_OWNERS_FILE, else, with Redis "
    "state, those owner-sync keeps there].",
)
@crm_csv_options
@click.option(
    "--at",
    "at_ms",
    metavar="TIME",
    callback=lambda _ctx, _param, value: parse_at(value),
    help="Route as of this ISO date-time with its offset, e.g. 2026-11-25T14:00:00+01:00: working "
    "hours, out of office, caps and their hour/day/week all follow it [default: now].",
)
@click.option(
    "--output-fields",
    "output_fields",
    metavar="PATH,…",
    help="Write only these fields of each assignment, as dotted paths into the event "
    "(schemas/leadroute.Assignment.avsc), e.g. lead_id,destination_type,destination,channel,route,"
    "reason,lead.crm.account.id: a JSON object per line keyed by path, or these CSV columns.",
)
@click.option(
    "--compact",
    is_flag=True,
    help="Write the decision without the lead it carries (every field but 'lead'), on one tight "
    "line: about a third of the size.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write rejected lines here (JSONL with line number and reason).",
)
@click.option(
    "--state",
    type=click.Choice(["auto", "redis", "memory"]),
    default="auto",
    show_default=True,
    help="Where decisions are remembered: Redis if it answers (auto), or in memory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_settings(shown=IN_PROCESS_SETTINGS)
def route(
    settings: Settings,
    input_path: str,
    output_path: str,
    rules_path: str | None,
    owners_path: str | None,
    crm_accounts: str | None,
    crm_contacts: str | None,
    crm_leads: str | None,
    crm_opportunities: str | None,
    at_ms: int | None,
    output_fields: str | None,
    compact: bool,
    rejects_path: str | None,
    state: str,
    as_json: bool,
) -> None:
    """Route a file of leads in-process, with no broker (list imports, dry runs).

    Only the settings that shape batch routing are listed; every other setting
    still works as a flag or LEADROUTE_* variable (see 'leadroute config').

    Exit codes: 0 every line routed; 1 some lines were rejected (see the
    summary); 2 bad arguments or configuration; 5 Redis unreachable (--state redis).
    """
    from processors.errors import DependencyUnavailable
    from streams.routing.batch import run_batch
    from streams.routing.output import OutputShape
    from streams.routing.router import owners_for
    from streams.routing.rules_source import rules_for
    from streams.wiring import build_enricher_for

    settings = replace(
        settings,
        rules_file=rules_path or settings.rules_file,
        owners_file=owners_path or settings.owners_file,
    )
    try:
        shape = OutputShape.of(output_fields, compact)
        enricher = build_enricher_for(settings)
        rules_for(settings)  # a bad rules or owners file is refused before any lead is read
        owners_for(settings)
        crm, crm_report = crm_mirror_from(
            settings,
            accounts=crm_accounts,
            contacts=crm_contacts,
            leads=crm_leads,
            opportunities=crm_opportunities,
            quiet=as_json,
        )
    except ValueError as error:
        exit_on_bad_configuration(error)
        return
    try:
        code = run_batch(
            settings,
            enricher=enricher,
            input_path=input_path,
            output_path=output_path,
            rejects_path=rejects_path,
            state=state,
            as_json=as_json,
            crm=crm,
            crm_report=crm_report,
            at_ms=at_ms,
            shape=shape,
        )
    except DependencyUnavailable as error:
        console.print(
            f"[red]Redis at {settings.redis_location()} is unreachable[/] ({error}). Start it, or route "
            "with --state memory."
        )
        sys.exit(5)
    sys.exit(code)
