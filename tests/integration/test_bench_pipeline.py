"""``leadroute bench pipeline --json``: every lead accounted for, the baseline measured, the JSON shape.

No figure is asserted: the machine is shared, and the benchmark's point is the
ratio it prints, not a number a test could hold it to.
"""

from __future__ import annotations

import json
import uuid

import redis
from click.testing import CliRunner

from streams.cli.main import main
from tests.support.services import Services


def test_the_pipeline_benchmark_accounts_for_every_lead_next_to_its_baseline(
    infra: Services, client: redis.Redis
) -> None:
    env = {
        "LEADROUTE_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "LEADROUTE_REDIS_URL": infra.redis_url,
        "LEADROUTE_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
        "LEADROUTE_PARTITIONS": "2",
        "LEADROUTE_BENCH_LATENCY_LEADS": "100",  # an option read from its environment variable
    }
    arguments = [
        "bench", "pipeline", "--external-kafka", "--json", "--leads", "300", "--rate", "200",
        "--guarantee", "exactly-once", "--intervals", "", "--crm-accounts", "200", "--timeout", "120",
    ]  # fmt: skip
    result = CliRunner().invoke(main, arguments, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)

    assert summary["leads"] == 300 and summary["latency_leads"] == 100
    [run] = summary["runs"]
    pipeline, baseline = run["pipeline"], run["baseline"]
    assert pipeline["processing_guarantee"] == baseline["processing_guarantee"] == "exactly-once"
    for part in (pipeline, baseline):
        for phase in (part["saturation"], part["paced"]):
            assert phase["unaccounted"] == 0
            assert phase["out"] + phase["dead_lettered"] == phase["records"]
            assert phase["records_per_second"] > 0
            assert set(phase["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert pipeline["saturation"]["records"] == 300
    # The baseline carries the leads normalize accepts: the synthetic mix has a few it rejects.
    assert baseline["saturation"]["records"] == pipeline["saturation"]["out"]
    assert baseline["saturation"]["dead_lettered"] == 0
    assert pipeline["crm_accounts"] == 200

    assert [s["stage"] for s in pipeline["stages"]] == ["normalize", "enrich", "match", "segment", "assign"]
    assert [s["stage"] for s in baseline["stages"]] == [f"pass-through-{i}" for i in range(1, 6)]
    for stage in (*pipeline["stages"], *baseline["stages"]):
        assert stage["peak_rss_mib"] > 0 and stage["leads_per_second"] > 0
    assert {p["name"] for p in pipeline["processes"]} >= {"crm-sync", "owner-sync"}
    ratios = run["vs_baseline"]
    assert set(ratios) == {
        "throughput", "throughput_per_cpu_second", "latency_p50", "latency_p95", "latency_p99", "latency_max"
    }  # fmt: skip
    assert all(value > 0 for value in ratios.values())
    assert pipeline["stages"][0]["vs_baseline_hop"]["baseline_hop"] == "pass-through-1"
    assert summary["commit_intervals"] == [] and summary["scale"] is None
    assert not list(client.scan_iter(match="leadroute-bench-*", count=1000))  # its Redis prefixes are gone
