"""The deploy assets agree with the code: metric names, ports, alert rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streams.metrics import REGISTRY
from streams.settings import Settings
from streams.stages.registry import STAGES, stage_index

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def _exported_names() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(metric.type, [""])
        names.update(metric.name + suffix for suffix in suffixes)
    return names


def test_dashboard_and_alerts_use_only_metrics_the_stages_export() -> None:
    exported = _exported_names() | {"up"}
    texts = [
        (ROOT / "deploy/grafana/dashboards/leadroute-overview.json").read_text(),
        (PROMETHEUS / "alerts.yml").read_text(),
    ]
    used = {name for text in texts for name in re.findall(r"\b(leadroute_[a-z_]+|up)\b", text)}
    assert used, "no metric found in the dashboard or the alerts"
    assert used - exported == set()


def test_prometheus_scrapes_every_stage_on_its_port() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]
    }
    base = Settings.from_env({}).metrics_port
    assert {f"{stage}:{base + stage_index(stage)}" for stage in STAGES} <= targets


def test_compose_runs_every_stage() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for stage in STAGES:
        command = compose["services"][stage]["command"]
        assert (command if isinstance(command, list) else command.split()) == ["run", stage]


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (.ci/run installs Debian's prometheus)",
)
def test_alert_rules_pass_promtool() -> None:
    for command in (
        ["check", "config", "deploy/prometheus/prometheus.yml"],
        ["test", "rules", "deploy/prometheus/tests.yml"],
    ):
        result = subprocess.run(["promtool", *command], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(
        [sys.executable, "deploy/grafana/check_dashboard.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
