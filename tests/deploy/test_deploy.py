"""The deploy assets agree with the code: metric names, ports, alert rules."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from streams.metrics import REGISTRY
from streams.settings import Settings
from streams.stages.registry import LEAD_STAGES, STAGES, stage_index
from tests.support.paths import REPO

ROOT = REPO
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "leadroute-overview.json"
K8S = ROOT / "deploy" / "k8s"
#: Every stage the registry runs, plus the ones the deploy assets must carry even if
#: the registry lost them: a stage missing from both would otherwise go unnoticed.
DEPLOYED_STAGES = [*STAGES, *({"crm-sync"} - set(STAGES))]
#: The selector that keeps the lead-accounting invariant to the five lead stages.
LEAD_STAGE_SELECTOR = 'stage=~"' + "|".join(LEAD_STAGES) + '"'


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


def _metrics_port(stage: str) -> int:
    return Settings.from_env({}).metrics_port + stage_index(stage)


def _k8s_deployments() -> dict[str, dict]:
    """The Deployments kustomization.yaml applies, by their app.kubernetes.io/component label."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    deployments = {}
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / resource).read_text()):
            if doc and doc.get("kind") == "Deployment":
                deployments[doc["metadata"]["labels"]["app.kubernetes.io/component"]] = doc
    return deployments


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
        ("LeadrouteCrmSyncLagHigh", {"leadroute_consumer_lag"}),
        (
            "LeadrouteCrmMatchRateDropped",
            {"leadroute_crm_matches_total", "leadroute_records_in_total"},
        ),
        ("LeadrouteCrmMirrorEmpty", {"leadroute_crm_mirror_records"}),
    ],
)
def test_enrichment_and_crm_alerts_watch_their_metrics(alert: str, metrics: set[str]) -> None:
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


def test_crm_alerts_are_in_their_own_group() -> None:
    config = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    groups = {group["name"]: {rule.get("alert") for rule in group["rules"]} for group in config["groups"]}
    assert groups["leadroute.crm"] == {
        "LeadrouteCrmSyncLagHigh",
        "LeadrouteCrmMatchRateDropped",
        "LeadrouteCrmMirrorEmpty",
    }


def test_lead_accounting_counts_only_the_lead_stages() -> None:
    """crm-sync reads the CRM topics, not leads: its records and dead letters stay out of the invariant.

    An alert rule or dashboard query that adds dead letters up across stages (not
    ``by (stage, ...)``) is counting leads, so it must select the five lead stages; a bare
    leadroute_dlq_total would add crm-sync's unreadable CRM events to the lead count.
    Records in, summed the same way, are counted at one lead stage.
    """
    assert LEAD_STAGES == ("normalize", "enrich", "match", "segment", "assign")
    assert "crm-sync" in STAGES and "crm-sync" not in LEAD_STAGES
    rules = _alert_rules()
    for name in ("LeadrouteAccountingGap", "LeadrouteDeadLetterRateHigh", "LeadrouteDeadLetterRateCritical"):
        assert LEAD_STAGE_SELECTOR in rules[name]["expr"], name
    exprs = [(f"alert {name}", rule["expr"]) for name, rule in rules.items()]
    exprs += [(f"dashboard: {expr}", expr) for expr in _dashboard_exprs()]
    checked = 0
    for name, expr in exprs:
        if re.search(r"\bby \(stage\b", expr):
            continue  # per stage: crm-sync shows up as its own series
        for selector in re.findall(r"leadroute_dlq_total(\{[^}]*\})?", expr):
            assert LEAD_STAGE_SELECTOR in (selector or ""), name
            checked += 1
        for selector in re.findall(r"leadroute_records_in_total(\{[^}]*\})?", expr):
            stage = re.search(r'stage="([^"]+)"', selector or "")
            assert stage and stage.group(1) in LEAD_STAGES, name
    assert checked >= 8, "the lead-accounting queries were not found"


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_prometheus_scrapes_every_stage_on_its_port(stage: str) -> None:
    assert stage in STAGES, f"{stage} is no longer in streams/stages/registry.py"
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        target: static_config.get("labels", {})
        for job in config["scrape_configs"]
        if job["job_name"] == "leadroute"
        for static_config in job.get("static_configs", [])
        for target in static_config["targets"]
    }
    target = f"{stage}:{_metrics_port(stage)}"
    assert target in targets, f"no scrape target {target} in job leadroute"
    # The alerts and the "Stage up" panel read the stage from `service`.
    assert targets[target] == {"service": stage}


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_compose_runs_every_stage(stage: str) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert stage in compose["services"], f"no compose service {stage}"
    service = compose["services"][stage]
    command = service["command"]
    assert (command if isinstance(command, list) else command.split()) == ["run", stage]
    port = _metrics_port(stage)
    assert f"127.0.0.1:{port}:{port}" in service["ports"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_k8s_deploys_every_stage(stage: str) -> None:
    deployments = _k8s_deployments()
    assert stage in deployments, f"no Deployment for {stage} in deploy/k8s/kustomization.yaml"
    deployment = deployments[stage]
    port = _metrics_port(stage)
    template = deployment["spec"]["template"]
    assert deployment["metadata"]["name"] == f"leadroute-{stage}"
    assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == stage
    assert template["metadata"]["labels"]["app.kubernetes.io/component"] == stage
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    (container,) = template["spec"]["containers"]
    assert container["args"] == ["run", stage]
    assert [p["containerPort"] for p in container["ports"] if p["name"] == "metrics"] == [port]


def test_image_exposes_every_stage_port() -> None:
    exposed = re.search(r"^EXPOSE (.+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.MULTILINE)
    assert exposed
    assert {str(_metrics_port(stage)) for stage in DEPLOYED_STAGES} <= set(exposed.group(1).split())


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


def test_the_kubernetes_rules_config_is_the_shipped_example() -> None:
    """kustomize cannot read outside deploy/k8s, so the example is copied; the copy must not drift."""
    shipped = ROOT / "processors" / "rules" / "data" / "example.yaml"
    assert (ROOT / "deploy" / "k8s" / "rules" / "rules.yaml").read_bytes() == shipped.read_bytes()
