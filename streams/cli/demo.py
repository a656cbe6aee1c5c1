"""``leadroute demo``: the whole pipeline on an embedded broker, for a first look."""

from __future__ import annotations

import sys

import click

from streams.cli.options import with_settings
from streams.settings import Settings


@click.command()
@click.option(
    "--leads",
    "lead_count",
    type=click.IntRange(1, 1_000_000),
    default=200,
    show_default=True,
    help="How many synthetic leads to publish.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed for the synthetic leads.")
@click.option(
    "--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for every lead."
)
@click.option(
    "--external-kafka", is_flag=True, help="Use LEADROUTE_KAFKA_BOOTSTRAP instead of the embedded broker."
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=0.0,
    help="Publish at this many leads per second (0: all at once, the default).",
)
@click.option(
    "--crm-accounts",
    type=click.IntRange(0),
    default=2000,
    show_default=True,
    help="Accounts in the synthetic CRM published first (the demo leads' companies among them); 0: none.",
)
@with_settings
def demo(
    settings: Settings,
    lead_count: int,
    as_json: bool,
    seed: int,
    timeout: float,
    external_kafka: bool,
    rate: float,
    crm_accounts: int,
) -> None:
    """Run the whole pipeline on an embedded broker and watch synthetic leads get routed.

    Needs no servers: uses Redis at LEADROUTE_REDIS_URL if one answers, else an
    embedded one. Exit codes: 0 every lead accounted for; 1 some were not.
    """
    from streams.demo.run import run_demo

    sys.exit(
        run_demo(
            settings,
            lead_count=lead_count,
            as_json=as_json,
            seed=seed,
            timeout=timeout,
            external_kafka=external_kafka,
            rate=rate,
            crm_accounts=crm_accounts,
        )
    )
