"""``leadroute bench pipeline``: every stage through the broker, next to a same-run pass-through chain.

Each configuration (a processing guarantee and a commit interval) gets a fresh
embedded broker (or fresh topics on ``--external-kafka``), a fresh Redis
prefix with a synthetic CRM loaded into the mirror, and fresh processes:

- the pipeline: every stage of ``leadroute run all`` in its own process, with
  the example rules and team, firmographics from the shipped dataset;
- the baseline: five pass-through hops (:mod:`streams.bench.hops`), each its
  own process and consumer group, with the same partitions, guarantee, commit
  interval and client tuning, decoding and encoding each Lead in Avro.

Both take the same synthetic leads (the baseline as the Lead normalize makes of
each) in two phases: all published at once (throughput at saturation), then
paced at ``rate`` (latency at a fixed offered rate). Every figure of the
pipeline is also given as a ratio to the baseline's of the same run, because
the machine (two cores, shared, broker on the same cores) moves the absolute
numbers from one run to the next.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from streams import topics, wiring
from streams.bench import traffic
from streams.bench.hops import HOPS, hop_name, hop_topic, hop_topics
from streams.bench.procs import Processes, cpu_seconds, peak_rss_mib
from streams.demo import embedded
from streams.settings import Settings
from streams.stages.registry import LEAD_STAGES, STAGES

log = logging.getLogger(__name__)

GUARANTEES = ("at-least-once", "exactly-once")
#: Client settings for a broker on the same host (see docs/performance.md); used where unset.
BENCH_TUNING: dict[str, Any] = {"fetch_wait_max_ms": 10, "linger_ms": 1.0, "session_timeout_ms": 6000}
#: Share of the leads' companies already in the CRM (as in the demo): account routing and new logos.
CUSTOMER_SHARE = 0.6


@dataclass(frozen=True)
class Options:
    """What to measure; each field is a ``leadroute bench pipeline`` flag and a LEADROUTE_BENCH_* variable."""

    leads: int = 50_000
    rate: float = 1000.0
    latency_leads: int = 15_000
    guarantees: tuple[str, ...] = GUARANTEES
    commit_interval: float = 0.1
    intervals: tuple[float, ...] = (0.05, 0.1, 0.25)
    interval_leads: int = 10_000
    crm_accounts: int = 5_000
    seed: int = 7
    scale_stage: str | None = None
    instances: int = 2
    timeout: float = 900.0
    external_kafka: bool = False
    profile_stage: str | None = None
    profile_dir: str = "."


@dataclass
class Workload:
    """The records of every phase, encoded once: raw JSON for the pipeline, Lead Avro for the baseline."""

    saturation: list[traffic.Record]
    latency: list[traffic.Record]
    baseline_saturation: list[traffic.Record]
    baseline_latency: list[traffic.Record]
    probes: list[traffic.Record]
    baseline_probes: list[traffic.Record]


def _raw(lead_id: str | None, payload: dict[str, Any] | None, garbage: bytes | None) -> traffic.Record:
    if garbage is not None:
        return traffic.Record(None, garbage, [])
    return traffic.Record(lead_id, json.dumps(payload).encode(), [("content-type", b"application/json")])


def _as_leads(settings: Settings, records: list[traffic.Record]) -> list[traffic.Record]:
    """What normalize makes of each record (those it accepts): the baseline's input."""
    from processors.ports import SystemClock
    from streams.serde import AvroCodec, HeaderList
    from streams.stages import normalize
    from streams.stages.base import Message

    step = normalize.build_step(settings, SystemClock())
    logging.getLogger("streams.stages.base").setLevel(logging.WARNING)  # the rejects are expected
    headers: HeaderList = [(key, value.encode()) for key, value in AvroCodec("Lead").headers.items()]
    now_ms = int(time.time() * 1000)
    leads = []
    for offset, record in enumerate(records):
        routed = step(Message(record.value, None, record.headers, "bench", 0, offset, now_ms))
        if routed.destination == "output":
            leads.append(traffic.Record(routed.lead_id, routed.value, headers))
    return leads


def prepare(settings: Settings, options: Options) -> Workload:
    """Synthetic leads for both phases (distinct ids), and warm-up probes, one per partition at least."""
    from streams.demo.synthetic import generate

    count = options.leads + options.latency_leads
    records = [_raw(m.lead_id, m.payload, m.garbage) for m in generate(count, seed=options.seed)]
    saturation, latency = records[: options.leads], records[options.leads :]
    run = uuid.uuid4().hex[:6]
    probe_ids = [f"bench-probe-{run}-{i}" for i in range(4 * settings.partitions)]
    probes = [_raw(i, {"lead_id": i, "email": f"{i}@example.com"}, None) for i in probe_ids]
    return Workload(
        saturation=saturation,
        latency=latency,
        baseline_saturation=_as_leads(settings, saturation),
        baseline_latency=_as_leads(settings, latency),
        probes=probes,
        baseline_probes=_as_leads(settings, probes),
    )


class ProcessUse(TypedDict):
    """What one process of the chain used while saturated."""

    name: str
    instance: str
    peak_rss_mib: float | None
    cpu_seconds: float
    restarts: int


@dataclass
class Chain:
    """One thing to measure: which processes to start, where records go in and come out."""

    label: str
    workers: list[tuple[str, list[str], str]]  # (name, python arguments, instance id)
    source: str  # base topic names
    sink: str
    sink_schema: str
    lead_of: Callable[[Any], Any]
    stages: list[str]
    probes: list[traffic.Record]
    saturation: list[traffic.Record]
    latency: list[traffic.Record]
    prepare: Callable[[Settings, float], dict[str, Any]] = field(default=lambda _s, _d: {})


def _redis_cpu(settings: Settings) -> float:
    """CPU seconds the Redis server has used (for every client of it, not only ours)."""
    client = wiring.redis_for(settings)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _machine_cpu() -> float:
    """Seconds of CPU every core of the machine has been busy (all processes, ours or not)."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _broker(settings: Settings, external: bool) -> Iterator[tuple[str, int | None]]:
    if external:
        yield settings.kafka_bootstrap, None
        return
    broker = embedded.start_broker()
    try:
        yield broker.bootstrap, broker.process.pid
    finally:
        broker.stop()


def _config_settings(
    settings: Settings, guarantee: str, interval: float, bootstrap: str, external: bool
) -> Settings:
    from streams.routing.router import EXAMPLE_RULES

    run = uuid.uuid4().hex[:8]
    tuning = {name: value for name, value in BENCH_TUNING.items() if getattr(settings, name) is None}
    return settings.with_overrides(
        **tuning,
        processing_guarantee=guarantee,
        commit_interval=interval,
        kafka_bootstrap=bootstrap,
        topic_prefix=f"{settings.topic_prefix}bench-{run}." if external else settings.topic_prefix,
        group_prefix=f"leadroute-bench-{run}",
        redis_prefix=f"leadroute-bench-{run}",
        metrics_port=0,
        firmographics="dataset" if settings.firmographics == "none" else settings.firmographics,
        rules_file=settings.rules_file or str(EXAMPLE_RULES),
    )


def _load_crm_and_owners(accounts: int, seed: int) -> Callable[[Settings, float], dict[str, Any]]:
    """Set-up of a pipeline run: the CRM written to the mirror (as bench match does), owners by owner-sync."""

    def load(settings: Settings, deadline: float) -> dict[str, Any]:
        from streams.cli.owners import OwnerPublisher
        from streams.crm.synthetic import generate_crm
        from streams.demo.run import demo_team

        started = time.monotonic()
        team = demo_team(int(time.time() * 1000))
        mirror = wiring.crm_mirror(settings)
        batch: list[tuple[Any, str, Any]] = []
        loaded = 0
        owner_ids = tuple(owner.id for owner in team)
        for kind, record in generate_crm(
            accounts, seed=seed, demo_seed=seed, owners=owner_ids, demo_share=CUSTOMER_SHARE
        ):
            batch.append((kind, record["id"], record))
            loaded += kind == "account"
            if len(batch) >= 2000:
                mirror.upsert_many(batch)
                batch = []
        if batch:
            mirror.upsert_many(batch)
        publisher = OwnerPublisher(settings)
        for owner in team:
            publisher.publish(owner)
        if publisher.flush():
            raise RuntimeError("the broker did not acknowledge every owner")
        directory = wiring.owner_directory(settings)
        while directory.count() < len(team):
            if time.monotonic() > deadline:
                raise TimeoutError("owner-sync did not store the owners in time")
            time.sleep(0.2)
        seconds = round(time.monotonic() - started, 1)
        return {"crm_accounts": loaded, "owners": len(team), "setup_seconds": seconds}

    return load


def pipeline_chain(workload: Workload, options: Options, instances: dict[str, int], leads: int) -> Chain:
    workers = [
        (stage, ["-m", "streams.cli", "run", stage], f"{socket.gethostname()[:40]}-{i + 1}")
        for stage in STAGES
        for i in range(instances.get(stage, 1))
    ]
    return Chain(
        label="pipeline",
        workers=workers,
        source=topics.RAW,
        sink=topics.ASSIGNED,
        sink_schema="Assignment",
        lead_of=lambda event: event["lead"],
        stages=list(LEAD_STAGES),
        probes=workload.probes,
        saturation=workload.saturation[:leads],
        latency=workload.latency,
        prepare=_load_crm_and_owners(options.crm_accounts, options.seed),
    )


def baseline_chain(workload: Workload, leads: int) -> Chain:
    ids = {r.lead_id for r in workload.saturation[:leads]}
    return Chain(
        label="baseline",
        workers=[
            (hop_name(i), ["-m", "streams.bench.hops", str(i)], f"{socket.gethostname()[:40]}-1")
            for i in range(1, HOPS + 1)
        ],
        source=hop_topic(0),
        sink=hop_topic(HOPS),
        sink_schema="Lead",
        lead_of=lambda lead: lead,
        stages=[hop_name(i) for i in range(1, HOPS + 1)],
        probes=workload.baseline_probes,
        saturation=[r for r in workload.baseline_saturation if r.lead_id in ids],
        latency=workload.baseline_latency,
    )


def _wait_for_members(settings: Settings, chain: Chain, deadline: float) -> None:
    """With several instances of a stage, wait until each has joined its group and holds partitions."""
    from collections import Counter

    from confluent_kafka import ConsumerGroupState

    wanted = Counter(name for name, _, _ in chain.workers)
    admin = topics.admin_client(settings)
    for name, count in wanted.items():
        if count < 2:
            continue
        group = f"{settings.group_prefix}-{name}"
        settle = 2 * (settings.session_timeout_ms or 10_000) / 1000
        while time.monotonic() < deadline:
            try:
                [described] = admin.describe_consumer_groups([group], request_timeout=5).values()
                result = described.result()
            except Exception as error:  # noqa: BLE001 - a broker that cannot describe groups: wait instead
                log.info(
                    "cannot describe group %s (%s); waiting %.0f s for the rebalance", group, error, settle
                )
                time.sleep(settle)
                break
            if not result.members:
                # Some brokers (the embedded one) list no members: give the rebalance time instead.
                log.info("group %s lists no members; waiting %.0f s for the rebalance", group, settle)
                time.sleep(settle)
                break
            holding = [m for m in result.members if m.assignment and m.assignment.topic_partitions]
            if result.state == ConsumerGroupState.STABLE and len(holding) >= count:
                break
            time.sleep(0.5)


def measure_chain(
    settings: Settings,
    chain: Chain,
    options: Options,
    guarantee: str,
    interval: float,
    progress: Progress | None,
    *,
    latency: bool = True,
    profile: bool = False,
) -> dict[str, Any]:
    """Start the chain on fresh topics, warm it up, then the saturation and the paced phase."""
    with _broker(settings, options.external_kafka) as (bootstrap, broker_pid):
        config = _config_settings(settings, guarantee, interval, bootstrap, options.external_kafka)
        extra = (*topics.routing_channel_topics(config), *hop_topics())
        failed = [r for r in topics.create_topics(config, extra=extra) if r.status == "failed"]
        if failed:
            raise RuntimeError(f"could not create topics: {failed}")
        logs = tempfile.mkdtemp(prefix="leadroute-bench-")
        processes = Processes(log_dir=logs)
        deadline = time.monotonic() + options.timeout
        reader = traffic.consumer(config, [topics.name(config, chain.sink), topics.name(config, topics.DLQ)])
        writer = traffic.producer(config)
        try:
            for name, command, instance in chain.workers:
                processes.start(name, command, config, instance)
            setup = chain.prepare(config, deadline)

            def load(records: list[traffic.Record], rate: float, what: str) -> traffic.Outcome:
                task = progress.add_task(what, total=len(records)) if progress else None

                def watch(done: int) -> None:
                    processes.check()  # a stage that died fails the run at once, not at the timeout
                    if progress is not None and task is not None:
                        progress.update(task, completed=done)

                outcome = traffic.run_load(
                    config,
                    records,
                    source_topic=topics.name(config, chain.source),
                    out_topic=topics.name(config, chain.sink),
                    dlq_topic=topics.name(config, topics.DLQ),
                    rate=rate,
                    timeout=max(1.0, deadline - time.monotonic()),
                    reader=reader,
                    writer=writer,
                    on_progress=watch,
                )
                if progress and task is not None:
                    progress.remove_task(task)
                processes.check()
                return outcome

            ready_started = time.monotonic()
            probe = load(chain.probes, 0, f"{chain.label}: warming up")
            if probe.accounted < len(chain.probes):
                raise TimeoutError(f"the {chain.label} did not pass its warm-up leads; logs in {logs}")
            _wait_for_members(config, chain, deadline)
            ready_seconds = time.monotonic() - ready_started
            workers = {f"{w.name}/{w.instance}": w for w in processes.workers}
            profiler = None
            if profile and options.profile_stage:
                from streams.bench.sampling import Profiler

                profiled = [w.process.pid for w in workers.values() if w.name == options.profile_stage]
                prefix = os.path.join(options.profile_dir, f"profile-{options.profile_stage}-{guarantee}")
                profiler = Profiler(profiled, prefix)
                profiler.start()
            cpu_before, machine_before, own_before = processes.cpu(), _machine_cpu(), time.process_time()
            broker_before = cpu_seconds(broker_pid) if broker_pid else None
            redis_before = _redis_cpu(config)
            saturated = load(chain.saturation, 0, f"{chain.label} ({guarantee}, {interval:g} s): saturation")
            cpu_after, machine_after, own_after = processes.cpu(), _machine_cpu(), time.process_time()
            broker_after = cpu_seconds(broker_pid) if broker_pid else None
            redis_used = _redis_cpu(config) - redis_before
            profiles = profiler.stop() if profiler is not None else None
            paced = (
                load(chain.latency, options.rate, f"{chain.label} ({guarantee}): {options.rate:g} leads/s")
                if latency
                else None
            )
            rss = {key: peak_rss_mib(w.process.pid) for key, w in workers.items()}
        finally:
            reader.close()
            processes.stop()
            from streams.adapters.redis_cleanup import forget_prefix

            forget_prefix(wiring.redis_for(config, timeout_s=None), config.redis_prefix)
            if options.external_kafka:
                _delete_topics(config, chain)
    rates = traffic.stage_rates(list(saturated.out.values()), chain.sink_schema, chain.lead_of, chain.stages)
    # A process restarted during saturation (an outage) counts from 0 again: never a negative share.
    used = {key: max(0.0, cpu_after[key] - cpu_before.get(key, 0.0)) for key in cpu_after}
    ours = sum(used.values())
    broker_cpu = (broker_after - broker_before) if broker_before is not None and broker_after else None
    machine = machine_after - machine_before
    processes_out: list[ProcessUse] = []
    for key, worker in workers.items():
        processes_out.append(
            {
                "name": worker.name,
                "instance": worker.instance,
                "peak_rss_mib": rss[key],
                "cpu_seconds": round(used[key], 2),
                "restarts": worker.restarts,
            }
        )
    stages = []
    for stage in chain.stages:
        of_stage = [p for p in processes_out if p["name"] == stage]
        cpu = sum(p["cpu_seconds"] for p in of_stage)
        leads = rates[stage]["leads"]
        stages.append(
            {
                "stage": stage,
                "instances": len(of_stage),
                "leads_per_second": rates[stage]["leads_per_second"],
                "cpu_ms_per_lead": round(cpu * 1000 / leads, 3) if leads else None,
                "leads_per_cpu_second": round(leads / cpu, 1) if cpu else None,
                "peak_rss_mib": max((p["peak_rss_mib"] or 0.0) for p in of_stage),
                "restarts": sum(p["restarts"] for p in of_stage),
            }
        )
    own = own_after - own_before
    spent = ours + (broker_cpu or 0.0)
    saturated_summary = saturated.summary()
    # Contention-proof: what the work cost, not how much CPU the other tenants left it.
    saturated_summary["records_per_cpu_second"] = round(saturated.accounted / spent, 1) if spent else None
    return {
        "chain": chain.label,
        "processing_guarantee": guarantee,
        "commit_interval_s": interval,
        "ready_seconds": round(ready_seconds, 1),
        **setup,
        "saturation": saturated_summary,
        "paced": paced.summary() if paced else None,
        "stages": stages,
        "processes": processes_out,
        "profile": profiles,
        "cpu_seconds_in_saturation": {
            "chain_processes": round(ours, 1),
            "broker": round(broker_cpu, 1) if broker_cpu is not None else None,
            "bench_client": round(own, 1),
            "redis_all_clients": round(redis_used, 1),
            "machine_all_processes": round(machine, 1),
            "others_on_the_machine": round(machine - ours - (broker_cpu or 0.0) - own - redis_used, 1),
            "available": round((os.cpu_count() or 1) * saturated.summary()["seconds"], 1),
        },
    }


def _delete_topics(settings: Settings, chain: Chain) -> None:
    admin = topics.admin_client(settings)
    names = [topics.name(settings, base) for base in (*topics.ALL_TOPICS, *hop_topics())]
    try:
        for future in admin.delete_topics(names, request_timeout=30).values():
            future.result(timeout=30)
    except Exception as error:  # noqa: BLE001 - best effort: the run's figures are already taken
        log.warning("could not delete the benchmark's topics: %s", error)


def _ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 3)


def compare(pipeline: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's figures as ratios to the baseline's (throughput: higher is better; latency: lower)."""
    ratios: dict[str, Any] = {
        "throughput": _ratio(
            pipeline["saturation"]["records_per_second"], baseline["saturation"]["records_per_second"]
        ),
        "throughput_per_cpu_second": _ratio(
            pipeline["saturation"]["records_per_cpu_second"], baseline["saturation"]["records_per_cpu_second"]
        ),
    }
    if pipeline["paced"] and baseline["paced"]:
        for key, value in pipeline["paced"]["latency_ms"].items():
            ratios[f"latency_{key}"] = _ratio(value, baseline["paced"]["latency_ms"][key])
    for stage, hop in zip(pipeline["stages"], baseline["stages"], strict=True):
        stage["vs_baseline_hop"] = {
            "baseline_hop": hop["stage"],
            "leads_per_second": _ratio(stage["leads_per_second"], hop["leads_per_second"]),
            "leads_per_cpu_second": _ratio(stage["leads_per_cpu_second"], hop["leads_per_cpu_second"]),
            "peak_rss_mib": _ratio(stage["peak_rss_mib"], hop["peak_rss_mib"]),
        }
    return ratios


def run(settings: Settings, options: Options, console: Console | None) -> dict[str, Any]:
    """Every configuration the options ask for; returns one JSON-able summary."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    if options.scale_stage and options.scale_stage not in LEAD_STAGES:
        raise ValueError(f"--scale-stage must be one of {', '.join(LEAD_STAGES)}")
    started = time.monotonic()
    with Progress(*columns, console=console, disable=console is None, transient=True) as progress:
        if console is not None:
            console.print(f"preparing {options.leads + options.latency_leads} synthetic leads…")
        workload = prepare(settings, options)
        results: list[dict[str, Any]] = []
        for guarantee in options.guarantees:
            pipeline = measure_chain(
                settings,
                pipeline_chain(workload, options, {}, options.leads),
                options,
                guarantee,
                options.commit_interval,
                progress,
                profile=True,
            )
            baseline = measure_chain(
                settings,
                baseline_chain(workload, options.leads),
                options,
                guarantee,
                options.commit_interval,
                progress,
            )
            results.append(
                {"pipeline": pipeline, "baseline": baseline, "vs_baseline": compare(pipeline, baseline)}
            )
        sweep = []
        for interval in options.intervals:
            for guarantee in options.guarantees:
                pipeline = measure_chain(
                    settings,
                    pipeline_chain(workload, options, {}, options.interval_leads),
                    options,
                    guarantee,
                    interval,
                    progress,
                )
                baseline = measure_chain(
                    settings, baseline_chain(workload, options.interval_leads), options, guarantee, interval,
                    progress,
                )  # fmt: skip
                sweep.append(_sweep_row(pipeline, baseline))
        scale = None
        if options.scale_stage:
            guarantee = options.guarantees[0]
            scaled = measure_chain(
                settings,
                pipeline_chain(workload, options, {options.scale_stage: options.instances}, options.leads),
                options,
                guarantee,
                options.commit_interval,
                progress,
                latency=False,
            )
            single = results[0]["pipeline"]
            scale = {
                "stage": options.scale_stage,
                "instances": options.instances,
                "processing_guarantee": guarantee,
                "one_instance_per_second": single["saturation"]["records_per_second"],
                "scaled_per_second": scaled["saturation"]["records_per_second"],
                "ratio": _ratio(
                    scaled["saturation"]["records_per_second"], single["saturation"]["records_per_second"]
                ),
                "run": scaled,
            }
    return {
        "leads": options.leads,
        "latency_leads": options.latency_leads,
        "offered_rate": options.rate,
        "crm_accounts": options.crm_accounts,
        "partitions": settings.partitions,
        "cpus": os.cpu_count(),
        "broker": "external" if options.external_kafka else "embedded (Tansu, memory storage)",
        "seconds": round(time.monotonic() - started, 1),
        "runs": results,
        "commit_intervals": sweep,
        "scale": scale,
    }


def _sweep_row(pipeline: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "processing_guarantee": pipeline["processing_guarantee"],
        "commit_interval_s": pipeline["commit_interval_s"],
        "leads_per_second": pipeline["saturation"]["records_per_second"],
        "baseline_per_second": baseline["saturation"]["records_per_second"],
        "throughput_vs_baseline": _ratio(
            pipeline["saturation"]["records_per_second"], baseline["saturation"]["records_per_second"]
        ),
        "unaccounted": pipeline["saturation"]["unaccounted"] + pipeline["paced"]["unaccounted"],
    }
    for key in ("p50", "p99", "max"):
        row[f"{key}_ms"] = pipeline["paced"]["latency_ms"][key]
        row[f"baseline_{key}_ms"] = baseline["paced"]["latency_ms"][key]
    return row
