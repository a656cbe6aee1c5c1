"""The deploy assets agree with the code: metric names, ports, alert rules."""

from __future__ import annotations

import importlib.util
import json
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
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "leadroute-overview.json"


def _exported_names() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(metric.type, [""])
        names.update(metric.name + suffix for suffix in suffixes)
    return names


def _dashboard_exprs() -> list[str]:
    def walk(panels: list[dict]) -> list[str]:
        exprs = []
        for panel in panels:
            exprs += [target["expr"] for target in panel.get("targets", []) if target.get("expr")]
            exprs += walk(panel.get("panels", []))
        return exprs

    return walk(json.loads(DASHBOARD.read_text())["panels"])


def _alert_rules() -> dict[str, dict]:
    config = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return {rule["alert"]: rule for group in config["groups"] for rule in group["rules"] if "alert" in rule}


def _load_check_dashboard():
    spec = importlib.util.spec_from_file_location(
        "check_dashboard", ROOT / "deploy/grafana/check_dashboard.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_and_alerts_use_only_metrics_the_stages_export() -> None:
    exported = _exported_names() | {"up"}
    texts = [DASHBOARD.read_text(), (PROMETHEUS / "alerts.yml").read_text()]
    used = {name for text in texts for name in re.findall(r"\b(leadroute_[a-z_]+|up)\b", text)}
    assert used, "no metric found in the dashboard or the alerts"
    assert used - exported == set()


def test_dashboard_shows_every_metric_the_stages_export() -> None:
    """A metric added to (or renamed in) streams/metrics.py needs a panel."""
    used = {name for expr in _dashboard_exprs() for name in re.findall(r"\bleadroute_[a-z_]+", expr)}
    families = {metric.name for metric in REGISTRY.collect()}
    missing = {
        family
        for family in families
        if not any(name == family or name.startswith(family + "_") for name in used)
    }
    assert missing == set()


def test_check_dashboard_allows_exactly_the_exported_metrics() -> None:
    """deploy/grafana/check_dashboard.py keeps its own list; it must match the registry."""
    allowed = _load_check_dashboard().ALLOWED
    assert allowed == _exported_names() | {"up"}


def test_check_dashboard_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs without promtool too (then PromQL is not parsed, only names, ids and layout)."""
    assert _load_check_dashboard().main(str(DASHBOARD)) == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("alert", "metrics"),
    [
        ("LeadrouteFirmographicsCircuitOpen", {"leadroute_firmographics_circuit_open"}),
        ("LeadrouteFirmographicsErrorRateHigh", {"leadroute_firmographics_lookups_total"}),
        (
            "LeadrouteEnrichmentCountryCoverageLow",
            {"leadroute_enriched_fields_total", "leadroute_enriched_leads_total"},
        ),
    ],
)
def test_enrichment_alerts_watch_the_enrichment_metrics(alert: str, metrics: set[str]) -> None:
    rule = _alert_rules()[alert]
    assert metrics <= set(re.findall(r"\bleadroute_[a-z_]+", rule["expr"]))
    assert metrics <= _exported_names()
    assert rule["annotations"]["description"].strip()


def test_every_alert_has_a_promtool_test() -> None:
    tests = yaml.safe_load((PROMETHEUS / "tests.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}
    firing = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = set(_alert_rules())
    assert alerts - tested == set(), "alerts without any promtool test"
    assert alerts - firing == set(), "alerts never shown to fire in tests.yml"


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
