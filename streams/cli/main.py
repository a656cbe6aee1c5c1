"""The ``leadroute`` command line."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from streams.cli.options import with_settings
from streams.cli.owners import owners
from streams.cli.routing import explain, rules, simulate
from streams.settings import Settings
from streams.stages.registry import LEAD_STAGES, STAGES

console = Console(stderr=True)
_GUARANTEES = ("at-least-once", "exactly-once")


def _exit_on_bad_configuration(error: ValueError) -> None:
    console.print(f"[red]Invalid configuration:[/] {error}")
    sys.exit(2)


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
        _exit_on_bad_configuration(error)
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
    process with the same LEADROUTE_INSTANCE_ID.
    """
    if stage == "all":
        from streams.supervisor import Supervisor

        sys.exit(Supervisor(settings, list(STAGES)).run_forever())
    from streams.runner import run_stage

    sys.exit(run_stage(settings, stage, metrics_port=stage_port))


@main.command()
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


@main.command()
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
        _exit_on_bad_configuration(error)
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


@main.group()
def bench() -> None:
    """Benchmarks; each prints its figures next to a baseline measured in the same run."""


@bench.command("stages")
@click.option("--leads", "lead_count", type=click.IntRange(100), default=5_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_settings
def bench_stages(settings: Settings, lead_count: int, as_json: bool) -> None:
    """Each stage's step in-process (decode, process, encode), against a pass-through baseline."""
    from streams.bench.stages import render_rows, stage_throughput

    rows = stage_throughput(settings, lead_count)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        render_rows(rows, "Stage steps, in-process")


def _bench_option(
    flag: str, env: str, *names: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A bench option that is also a LEADROUTE_BENCH_* variable (flags win), as settings are."""
    return click.option(
        flag, *names, envvar=f"LEADROUTE_BENCH_{env}", show_envvar=True, show_default=True, **kwargs
    )


def _intervals(_ctx: Any, _param: Any, text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of seconds") from None
    if any(value <= 0 for value in values):
        raise click.BadParameter("commit intervals must be positive")
    return values


@bench.command("pipeline")
@_bench_option(
    "--leads",
    "LEADS",
    "lead_count",
    type=click.IntRange(10),
    default=50_000,
    help="Leads published at once to measure throughput at saturation.",
)
@_bench_option(
    "--rate",
    "RATE",
    type=click.FloatRange(1),
    default=1000.0,
    help="Offered rate (leads/s) of the latency phase.",
)
@_bench_option(
    "--latency-leads",
    "LATENCY_LEADS",
    type=click.IntRange(10),
    default=15_000,
    help="Leads published at --rate for the latency phase.",
)
@_bench_option(
    "--guarantee",
    "GUARANTEE",
    type=click.Choice(["both", *_GUARANTEES]),
    default="both",
    help="Processing guarantee(s) to measure; replaces LEADROUTE_PROCESSING_GUARANTEE here.",
)
@_bench_option(
    "--intervals",
    "INTERVALS",
    default="0.05,0.1,0.25",
    callback=_intervals,
    help="Commit intervals (s) of the commit-interval table, comma-separated; '' skips it. "
    "The main table uses --commit-interval (LEADROUTE_COMMIT_INTERVAL).",
)
@_bench_option(
    "--interval-leads",
    "INTERVAL_LEADS",
    type=click.IntRange(10),
    default=10_000,
    help="Leads at saturation per row of the commit-interval table.",
)
@_bench_option(
    "--crm-accounts",
    "CRM_ACCOUNTS",
    type=click.IntRange(0),
    default=5_000,
    help="Accounts of the synthetic CRM in the mirror (60% of the leads' companies among them).",
)
@_bench_option(
    "--scale-stage",
    "SCALE_STAGE",
    type=click.Choice(list(LEAD_STAGES)),
    default=None,
    help="Also run the pipeline with --instances processes of this stage in its consumer group.",
)
@_bench_option(
    "--instances",
    "INSTANCES",
    type=click.IntRange(2, 16),
    default=2,
    help="Processes of --scale-stage, each with its own LEADROUTE_INSTANCE_ID.",
)
@_bench_option("--seed", "SEED", type=int, default=7, help="Seed of the synthetic leads and CRM.")
@_bench_option(
    "--timeout",
    "TIMEOUT",
    type=click.FloatRange(10),
    default=900.0,
    help="Most seconds one configuration may take.",
)
@_bench_option(
    "--profile",
    "PROFILE",
    "profile_stage",
    type=click.Choice(list(LEAD_STAGES)),
    default=None,
    help="Sample this stage with py-spy during each saturation phase (pip install 'leadroute[profile]').",
)
@_bench_option(
    "--profile-dir",
    "PROFILE_DIR",
    type=click.Path(file_okay=False, writable=True),
    default=".",
    help="Where --profile writes py-spy's raw collapsed stacks (flame graph input).",
)
@_bench_option(
    "--external-kafka",
    "EXTERNAL_KAFKA",
    is_flag=True,
    help="Use LEADROUTE_KAFKA_BOOTSTRAP (fresh topics per run) instead of an embedded broker each.",
)
@_bench_option("--json", "JSON", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@with_settings
def bench_pipeline(
    settings: Settings,
    lead_count: int,
    rate: float,
    latency_leads: int,
    guarantee: str,
    intervals: tuple[float, ...],
    interval_leads: int,
    crm_accounts: int,
    scale_stage: str | None,
    instances: int,
    seed: int,
    timeout: float,
    profile_stage: str | None,
    profile_dir: str,
    external_kafka: bool,
    as_json: bool,
) -> None:
    """Every stage through the broker, next to a five-hop pass-through chain measured in the same run.

    Throughput with every lead published at once, latency at a fixed offered
    rate, per-stage throughput, CPU and peak RSS, each also as a ratio to the
    baseline: five pass-through processes with the same partitions, guarantee,
    commit interval and Avro Lead decode/encode. Needs Redis at
    LEADROUTE_REDIS_URL (a fresh prefix per run, deleted after). Exit codes:
    0 every lead accounted for; 1 some were not; 5 Redis unreachable.
    """
    from streams.bench.pipeline import Options, run
    from streams.bench.pipeline_report import render, unaccounted
    from streams.demo.embedded import redis_answers

    if not redis_answers(settings.redis_url):
        console.print(f"[red]Redis does not answer at {settings.redis_url}[/]")
        sys.exit(5)
    options = Options(
        leads=lead_count,
        rate=rate,
        latency_leads=latency_leads,
        guarantees=_GUARANTEES if guarantee == "both" else (guarantee,),
        commit_interval=settings.commit_interval,
        intervals=intervals,
        interval_leads=interval_leads,
        crm_accounts=crm_accounts,
        seed=seed,
        scale_stage=scale_stage,
        instances=instances,
        timeout=timeout,
        external_kafka=external_kafka,
        profile_stage=profile_stage,
        profile_dir=profile_dir,
    )
    summary = run(settings, options, None if as_json else console)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        render(summary, Console())
    sys.exit(0 if unaccounted(summary) == 0 else 1)


@main.command()
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
    from streams.cli.enrich import enrich_document, render_section

    try:
        document = parse_json(lead_file.read())  # the stream's limits: depth, long numbers, broken text
        lead = enrich_document(settings, document)
    except InvalidLead as error:
        console.print(f"[red]Not a lead ({error.code}):[/] {error.message}")
        sys.exit(1)
    except ValueError as error:
        _exit_on_bad_configuration(error)
        return
    if as_json:
        click.echo(json.dumps(lead, indent=2, ensure_ascii=False))
    else:
        render_section(dict(lead["enrichment"] or {}), Console())


@main.group()
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
    from streams.cli.enrich import lookup_domain, render_lookup

    try:
        provider, answer = lookup_domain(settings, domain)
    except ValueError as error:
        _exit_on_bad_configuration(error)
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


@bench.command("assign")
@click.option("--leads", "lead_count", type=click.IntRange(100), default=20_000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Also run the stage in this many processes at once against one Redis ledger (scale-out).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_settings
def bench_assign(settings: Settings, lead_count: int, workers: int, as_json: bool) -> None:
    """The assign stage on the example rules with the Redis ledger, next to a pass-through.

    Batches are LEADROUTE_BATCH_SIZE (--batch-size) leads, as the stage takes them. Needs Redis
    at LEADROUTE_REDIS_URL; writes under a fresh prefix and deletes it. With --workers N, the
    leads are split N ways and decided by N processes at once, as N stage instances would.
    Exit codes: 0 measured; 5 Redis unreachable.
    """
    from streams.bench import assign as measurement
    from streams.demo.embedded import redis_answers

    if not redis_answers(settings):
        console.print(f"[red]Redis does not answer at {settings.redis_location()}[/]")
        sys.exit(5)
    measurement.render(
        measurement.measure(settings, lead_count, settings.batch_size, workers=workers), as_json
    )


@bench.command("match")
@click.option(
    "--accounts",
    type=click.IntRange(100),
    default=100_000,
    show_default=True,
    help="Accounts in the synthetic CRM loaded into Redis (with their contacts and deals).",
)
@click.option(
    "--leads",
    "lead_count",
    type=click.IntRange(100),
    default=10_000,
    show_default=True,
    help="Labelled leads to match.",
)
@click.option(
    "--batch", type=click.IntRange(1), default=200, show_default=True, help="Leads per Redis round trip."
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_settings
def bench_match(
    settings: Settings, accounts: int, lead_count: int, batch: int, seed: int, as_json: bool
) -> None:
    """Match quality (precision, recall, F1 per method) and leads/s against a synthetic CRM in Redis.

    The CRM is written under its own key prefix and deleted afterwards.
    """
    from streams.bench.match import render_bench_match, run_bench_match

    summary = run_bench_match(
        settings,
        accounts=accounts,
        lead_count=lead_count,
        seed=seed,
        batch=batch,
        console=None if as_json else console,
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        render_bench_match(summary, Console())


@main.command("config")
@with_settings
def show_config(settings: Settings) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    click.echo(json.dumps(settings.public_view(), indent=2))


@main.group()
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

    given = {"account": accounts, "contact": contacts, "lead": leads, "opportunity": opportunities}
    files: dict[Any, str] = {kind: path for kind, path in given.items() if path}
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


main.add_command(rules)
main.add_command(explain)
main.add_command(simulate)
main.add_command(owners)
