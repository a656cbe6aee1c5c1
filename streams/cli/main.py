"""The ``leadroute`` command line."""

from __future__ import annotations

import dataclasses
import json
import sys

import click
from rich.console import Console
from rich.table import Table

from streams.cli.bench import bench
from streams.cli.crm import crm
from streams.cli.demo import demo
from streams.cli.enrich import enrich, firmographics
from streams.cli.options import console, exit_on_bad_configuration, with_settings
from streams.cli.owners import owners
from streams.cli.route import route
from streams.cli.routing import explain, rules, simulate
from streams.settings import Settings
from streams.stages.registry import STAGES


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="leadroute")
def main() -> None:
    """leadroute: route every new lead to the right owner, and say why.

    Every setting is a flag and a LEADROUTE_* environment variable; see any
    command's --help.
    """


@main.group()
def topics() -> None:
    """Manage the Kafka topics the pipeline uses."""


@topics.command("create")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_settings
def topics_create(settings: Settings, as_json: bool) -> None:
    """Create every pipeline topic that does not exist yet (safe to run again).

    Includes leads.assigned.<channel> for every channel of the rules file
    (LEADROUTE_RULES_FILE, or the default channel).
    Exit codes: 0 all topics exist; 1 a topic could not be created; 2 bad rules file;
    4 Kafka unreachable.
    """
    from confluent_kafka import KafkaException

    from streams.topics import create_topics, routing_channel_topics

    try:
        channel_topics = routing_channel_topics(settings)
    except ValueError as error:
        exit_on_bad_configuration(error)
        return
    try:
        results = create_topics(settings, extra=channel_topics)
    except KafkaException as error:
        console.print(f"[red]Kafka at {settings.kafka_bootstrap} is unreachable:[/] {error}")
        sys.exit(4)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in results]))
    else:
        table = Table(title=f"Topics on {settings.kafka_bootstrap}")
        for column in ("topic", "status", "detail"):
            table.add_column(column)
        for result in results:
            colour = {"created": "green", "exists": "cyan"}.get(result.status, "red")
            table.add_row(result.topic, f"[{colour}]{result.status}[/]", result.detail)
        Console().print(table)
    sys.exit(1 if any(r.status == "failed" for r in results) else 0)


@main.command()
@click.argument("stage", type=click.Choice([*STAGES, "all"]))
@click.option(
    "--stage-port",
    type=int,
    default=None,
    help="Serve /metrics and /healthz on exactly this port (one stage; overrides base + index).",
)
@with_settings
def run(settings: Settings, stage: str, stage_port: int | None) -> None:
    """Run one stage, or every stage in its own supervised process ('all').

    Stops cleanly on Ctrl-C or SIGTERM. Exit codes: 0 stopped cleanly; 2 bad
    settings; 3 topics missing (run 'leadroute topics create'); 4 Kafka
    unreachable; 5 Redis or another dependency down; 6 fenced by another
    process with the same LEADROUTE_INSTANCE_ID; 7 dead-letter brake: too many
    records dead-lettered for a bug (not the data), stopped before committing
    them ('run all' stops every stage).
    """
    if stage == "all":
        from streams.supervisor import Supervisor

        sys.exit(Supervisor(settings, list(STAGES)).run_forever())
    from streams.runner import run_stage

    sys.exit(run_stage(settings, stage, metrics_port=stage_port))


@main.command("config")
@with_settings
def show_config(settings: Settings) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    click.echo(json.dumps(settings.public_view(), indent=2))


for command in (demo, route, bench, enrich, firmographics, crm, rules, explain, simulate, owners):
    main.add_command(command)
