"""``leadroute crm``: load CRM exports onto the crm.* topics, or generate a synthetic CRM."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from streams.cli.options import with_settings
from streams.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from processors.crm.models import RecordKind


@click.group()
def crm() -> None:
    """The CRM mirror's data: load CRM exports, or generate a synthetic CRM.

    Records are published as change events to the compacted crm.* topics
    (key: record id); the crm-sync stage indexes them. See docs/crm.md.
    """


def _csv_option(flag: str, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        flag,
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help=f"CSV of {what} (documented columns or common CRM export headers).",
    )


@crm.command("load")
@_csv_option("--accounts", "accounts")
@_csv_option("--contacts", "contacts")
@_csv_option("--leads", "CRM leads")
@_csv_option("--opportunities", "opportunities")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_settings
def crm_load(
    settings: Settings,
    accounts: str | None,
    contacts: str | None,
    leads: str | None,
    opportunities: str | None,
    as_json: bool,
) -> None:
    """Publish CSV files of CRM records to the crm.* topics (safe to run again).

    Every header is checked before anything is published; then each row is
    published, or rejected with its line number and the reason. A row with
    deleted=true publishes a tombstone. Exit codes: 0 every row loaded; 1 some
    rows rejected; 2 a file is not readable as its kind; 3 topics missing (run
    'leadroute topics create'); 4 Kafka unreachable.
    """
    from streams.crm.load import load_csv_files

    given: dict[RecordKind, str | None] = {
        "account": accounts,
        "contact": contacts,
        "lead": leads,
        "opportunity": opportunities,
    }
    files: dict[RecordKind, str | Path] = {kind: path for kind, path in given.items() if path}
    sys.exit(load_csv_files(settings, files, as_json=as_json).exit_code)


@crm.command("generate")
@click.option(
    "--accounts",
    type=click.IntRange(1, 10_000_000),
    default=2_000,
    show_default=True,
    help="How many accounts; contacts, leads and opportunities follow from them.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, writable=True),
    help="Directory for accounts.csv, contacts.csv, leads.csv and opportunities.csv.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="The same seed gives the same CRM.")
@click.option(
    "--demo-seed",
    type=int,
    default=7,
    show_default=True,
    help="Seed of the demo's companies to include ('leadroute demo --seed').",
)
@click.option("--publish", is_flag=True, help="Also publish every record to the crm.* topics.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@with_settings
def crm_generate(
    settings: Settings, accounts: int, out: str, seed: int, demo_seed: int, publish: bool, as_json: bool
) -> None:
    """Write a realistic synthetic CRM as CSVs that 'leadroute crm load' reads back.

    It includes every company the demo's leads work at, subsidiaries, alternate
    domains, look-alike names, free-mail contacts and open and closed
    opportunities. Exit codes: 0 written (and published); 3 topics missing;
    4 Kafka unreachable (with --publish).
    """
    from streams.crm.load import generate_files

    sys.exit(
        generate_files(
            settings,
            accounts=accounts,
            out=out,
            seed=seed,
            demo_seed=demo_seed,
            publish=publish,
            as_json=as_json,
        )
    )
