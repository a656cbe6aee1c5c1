"""``leadroute bench``: the benchmark commands; each prints its figures beside a same-run baseline."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from streams.cli.options import console, with_settings
from streams.settings import Settings
from streams.stages.registry import LEAD_STAGES

_GUARANTEES = ("at-least-once", "exactly-once")


@click.group()
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
    from streams.redis_client import redis_answers

    if not redis_answers(settings):
        console.print(f"[red]Redis does not answer at {settings.redis_location()}[/]")
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


@bench.command("assign")
@click.option("--leads", "lead_count", type=click.IntRange(100), default=20_000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Also run the stage in this many processes at once against one Redis ledger (scale-out).",
)
@click.option(
    "--compare-plain",
    "compare_rounds",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="Also run the stage without each speed trick, in this many interleaved rounds (medians).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_settings
def bench_assign(
    settings: Settings, lead_count: int, workers: int, compare_rounds: int, as_json: bool
) -> None:
    """The assign stage on the example rules with the Redis ledger, next to a pass-through.

    Batches are LEADROUTE_BATCH_SIZE (--batch-size) leads, as the stage takes them. Needs Redis
    at LEADROUTE_REDIS_URL; writes under a fresh prefix and deletes it. With --workers N, the
    leads are split N ways and decided by N processes at once, as N stage instances would.
    Exit codes: 0 measured; 5 Redis unreachable.
    """
    from streams.bench import assign as measurement
    from streams.redis_client import redis_answers

    if not redis_answers(settings):
        console.print(f"[red]Redis does not answer at {settings.redis_location()}[/]")
        sys.exit(5)
    measurement.render(
        measurement.measure(
            settings, lead_count, settings.batch_size, workers=workers, compare_rounds=compare_rounds
        ),
        as_json,
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
@click.option(
    "--real-data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory with real labelled name pairs (org-name-pairs.csv); "
    "default LEADROUTE_REAL_DATA_DIR, else ../shared/data next to the repository.",
)
@with_settings
def bench_match(
    settings: Settings,
    accounts: int,
    lead_count: int,
    batch: int,
    seed: int,
    as_json: bool,
    real_data_dir: str | None,
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
        real_data_dir=real_data_dir,
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        render_bench_match(summary, Console())


@bench.command("enrich")
@click.option(
    "--data-dir",
    envvar="LEADROUTE_REAL_DATA_DIR",
    default=None,
    help="Directory of real labelled data (job-titles-dev.tsv). [default: ../shared/data beside the repo]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_settings
def bench_enrich(settings: Settings, data_dir: str | None, as_json: bool) -> None:
    """Title seniority and function accuracy on real labelled titles; free-mail and role-address recall.

    Titles are skipped, with a sentence saying so, when the labelled file is not there.
    Free mail is checked against lists other than the ones detection uses.
    """
    from streams.bench.enrich import real_data_dir, render_bench_enrich, run_bench_enrich
    from streams.wiring import domain_lists, title_classifier

    summary = run_bench_enrich(real_data_dir(data_dir), title_classifier(settings), domain_lists(settings))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        render_bench_enrich(summary, Console())
