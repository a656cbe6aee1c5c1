"""Tables for ``leadroute bench pipeline``'s summary (the JSON is the summary itself)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def unaccounted(summary: dict[str, Any]) -> int:
    """Leads of every measured run that reached neither the last topic nor the DLQ."""
    runs = [part for run in summary["runs"] for part in (run["pipeline"], run["baseline"])]
    if summary.get("scale"):
        runs.append(summary["scale"]["run"])
    return sum(
        phase["unaccounted"]
        for run in runs
        for phase in (run["saturation"], run["paced"])
        if phase is not None
    )


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _ratio(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _end_to_end(summary: dict[str, Any]) -> Table:
    table = Table(
        title=f"End to end: {summary['leads']:,} leads at once, then {summary['latency_leads']:,} at "
        f"{summary['offered_rate']:g}/s ({summary['cpus']} CPUs, {summary['broker']})"
    )
    for column in ("guarantee", "figure", "pipeline", "baseline (5 pass-through hops)", "vs baseline"):
        table.add_column(column, justify="left" if column in ("guarantee", "figure") else "right")
    for run in summary["runs"]:
        pipeline, baseline, ratios = run["pipeline"], run["baseline"], run["vs_baseline"]
        name = f"{pipeline['processing_guarantee']}, commit {pipeline['commit_interval_s']:g} s"
        table.add_row(
            name,
            "leads/s at saturation",
            _number(pipeline["saturation"]["records_per_second"]),
            _number(baseline["saturation"]["records_per_second"]),
            _ratio(ratios["throughput"]),
        )
        table.add_row(
            "",
            "leads per CPU-second of stages + broker",
            _number(pipeline["saturation"]["records_per_cpu_second"]),
            _number(baseline["saturation"]["records_per_cpu_second"]),
            _ratio(ratios["throughput_per_cpu_second"]),
        )
        for key in ("p50", "p95", "p99", "max"):
            table.add_row(
                "",
                f"latency {key} at {pipeline['paced']['offered_per_second']:,.0f}/s offered (ms)",
                _number(pipeline["paced"]["latency_ms"][key], 1),
                _number(baseline["paced"]["latency_ms"][key], 1),
                _ratio(ratios.get(f"latency_{key}")),
            )
        table.add_row(
            "",
            "unaccounted (saturation + paced)",
            str(pipeline["saturation"]["unaccounted"] + pipeline["paced"]["unaccounted"]),
            str(baseline["saturation"]["unaccounted"] + baseline["paced"]["unaccounted"]),
            "",
            end_section=True,
        )
    return table


def _stages(run: dict[str, Any]) -> Table:
    pipeline = run["pipeline"]
    table = Table(
        title=f"Per stage at saturation, {pipeline['processing_guarantee']} (vs the pass-through hop "
        "in the same place)"
    )
    for column in (
        "stage",
        "leads/s",
        "vs hop",
        "CPU ms/lead",
        "leads/CPU-s",
        "vs hop",
        "peak RSS MiB",
        "vs hop",
    ):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in pipeline["stages"]:
        versus = stage["vs_baseline_hop"]
        table.add_row(
            stage["stage"] + (f" ×{stage['instances']}" if stage["instances"] > 1 else ""),
            _number(stage["leads_per_second"]),
            _ratio(versus["leads_per_second"]),
            _number(stage["cpu_ms_per_lead"], 3),
            _number(stage["leads_per_cpu_second"]),
            _ratio(versus["leads_per_cpu_second"]),
            _number(stage["peak_rss_mib"], 1),
            _ratio(versus["peak_rss_mib"]),
        )
    for process in pipeline["processes"]:
        if process["name"] not in {stage["stage"] for stage in pipeline["stages"]}:
            table.add_row(process["name"], "", "", "", "", "", _number(process["peak_rss_mib"], 1), "")
    for hop in run["baseline"]["stages"]:
        table.add_row(
            f"[dim]{hop['stage']}[/]",
            _number(hop["leads_per_second"]),
            "",
            _number(hop["cpu_ms_per_lead"], 3),
            _number(hop["leads_per_cpu_second"]),
            "",
            _number(hop["peak_rss_mib"], 1),
            "",
        )
    return table


def _cpu(summary: dict[str, Any]) -> Table:
    table = Table(title="Where the CPU went during saturation (seconds)")
    columns = (
        "run",
        "chain processes",
        "broker",
        "Redis (all clients)",
        "bench client",
        "others",
        "available",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in summary["runs"]:
        for part in (run["pipeline"], run["baseline"]):
            cpu = part["cpu_seconds_in_saturation"]
            table.add_row(
                f"{part['chain']}, {part['processing_guarantee']}",
                _number(cpu["chain_processes"], 1),
                _number(cpu["broker"], 1),
                _number(cpu["redis_all_clients"], 1),
                _number(cpu["bench_client"], 1),
                _number(cpu["others_on_the_machine"], 1),
                _number(cpu["available"], 1),
            )
    return table


def _intervals(summary: dict[str, Any]) -> Table:
    table = Table(title="Commit intervals (pipeline, and the baseline of the same configuration)")
    columns = (
        "guarantee", "commit s", "leads/s", "baseline leads/s", "vs baseline",
        "p50 ms", "p99 ms", "max ms", "baseline p99 ms", "unaccounted",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "guarantee" else "right")
    for row in summary["commit_intervals"]:
        table.add_row(
            row["processing_guarantee"],
            f"{row['commit_interval_s']:g}",
            _number(row["leads_per_second"]),
            _number(row["baseline_per_second"]),
            _ratio(row["throughput_vs_baseline"]),
            _number(row["p50_ms"], 1),
            _number(row["p99_ms"], 1),
            _number(row["max_ms"], 1),
            _number(row["baseline_p99_ms"], 1),
            str(row["unaccounted"]),
        )
    return table


def _profile(run: dict[str, Any]) -> Table | None:
    profiles = run["pipeline"].get("profile")
    if not profiles:
        return None
    table = Table(title=f"Profile ({run['pipeline']['processing_guarantee']}): share of on-CPU samples")
    for column in ("inclusive", "share", "self", "share "):
        table.add_column(column, justify="right" if column.startswith("share") else "left")
    for profile in profiles:
        for inclusive, own in zip(profile.get("inclusive", []), profile.get("self", []), strict=False):
            table.add_row(
                inclusive["function"], f"{inclusive['share']:.0%}", own["function"], f"{own['share']:.0%}"
            )
        table.add_row(f"[dim]{profile['samples']} samples, {profile['raw_file']}[/]", "", "", "")
    return table


def render(summary: dict[str, Any], console: Console) -> None:
    console.print(_end_to_end(summary))
    for run in summary["runs"]:
        console.print(_stages(run))
        profile = _profile(run)
        if profile is not None:
            console.print(profile)
    console.print(_cpu(summary))
    if summary["commit_intervals"]:
        console.print(_intervals(summary))
    scale = summary.get("scale")
    if scale:
        console.print(
            f"{scale['stage']} ×{scale['instances']} ({scale['processing_guarantee']}): "
            f"{_number(scale['scaled_per_second'])} leads/s at saturation, against "
            f"{_number(scale['one_instance_per_second'])} with one instance ({_ratio(scale['ratio'])})"
        )
    console.print(f"measured in {summary['seconds']:.0f} s")
