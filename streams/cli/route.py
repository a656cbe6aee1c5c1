"""``leadroute route``: a file of leads routed in-process, with no broker."""

from __future__ import annotations

import sys

import click

from streams.cli.options import exit_on_bad_configuration, with_settings
from streams.settings import Settings


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
    help="Where to write one assignment per line: JSONL with the whole event, or, for a name ending "
    "in .csv, a CSV for spreadsheets (lead_id, company, destination_type, destination, owner, channel, "
    "route, decided_at, replayed, reason, decision_path); cells that would run as a formula start "
    "with an apostrophe.",
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
@with_settings
def route(
    settings: Settings, input_path: str, output_path: str, rejects_path: str | None, state: str, as_json: bool
) -> None:
    """Route a file of leads in-process, with no broker (list imports, dry runs).

    Exit codes: 0 every line routed; 1 some lines were rejected (see the
    summary); 2 bad arguments or configuration.
    """
    from streams.routing.batch import run_batch
    from streams.routing.router import owners_for
    from streams.routing.rules_source import rules_for
    from streams.wiring import build_enricher_for

    try:
        enricher = build_enricher_for(settings)
        rules_for(settings)  # a bad rules or owners file is refused before any lead is read
        owners_for(settings)
    except ValueError as error:
        exit_on_bad_configuration(error)
        return
    sys.exit(
        run_batch(
            settings,
            enricher=enricher,
            input_path=input_path,
            output_path=output_path,
            rejects_path=rejects_path,
            state=state,
            as_json=as_json,
        )
    )
