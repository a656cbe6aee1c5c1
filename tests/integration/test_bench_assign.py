"""``leadroute bench assign`` measures every row against the real Redis and cleans up after itself."""

from __future__ import annotations

import gc

import redis

from streams.bench import assign as bench_assign
from tests.integration.conftest import make_settings
from tests.support.services import Services


def test_the_assign_benchmark_measures_every_row_and_cleans_up(infra: Services, client: redis.Redis) -> None:
    settings = make_settings(infra)
    threshold = gc.get_threshold()
    try:
        result = bench_assign.measure(settings, 300, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    steps = [row["step"] for row in result["rows"]]
    assert steps[0].startswith("no-op pass-through")
    assert any(step.startswith("assign stage") for step in steps)
    assert all(row["leads_per_second"] > 0 for row in result["rows"])
    assert result["rows"][0]["vs_pass_through"] == 1.0
    assert result["leads"] == 300
    assert not list(client.scan_iter(match="leadroute-bench-*", count=1000))


def test_the_scale_out_row_decides_every_lead_once_across_its_workers(
    infra: Services, client: redis.Redis
) -> None:
    settings = make_settings(infra)
    threshold = gc.get_threshold()
    try:
        result = bench_assign.measure(settings, 300, 50, workers=2)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    [row] = [row for row in result["rows"] if "worker processes" in row["step"]]
    assert row["step"].startswith("assign stage, 2 worker processes")
    assert row["decided"] == result["leads"] == 300  # each lead decided by one of them, in the shared ledger
    assert row["leads_per_second"] > 0
    assert not list(client.scan_iter(match="leadroute-bench-*", count=1000))


def test_the_comparison_measures_every_variant_in_each_round_and_cleans_up(
    infra: Services, client: redis.Redis
) -> None:
    settings = make_settings(infra)
    threshold = gc.get_threshold()
    try:
        result = bench_assign.measure(settings, 300, 100, compare_rounds=2)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    compared = [row for row in result["rows"] if "stage_vs_this" in row]
    assert len(compared) == len(bench_assign.VARIANTS)
    assert all(len(row["rounds"]) == 2 and row["leads_per_second"] > 0 for row in compared)
    assert compared[0]["stage_vs_this"] == 1.0
    assert not list(client.scan_iter(match="leadroute-bench-*", count=1000))
