#!/usr/bin/env python3
"""Sanity checks for the leadroute Grafana dashboard.

    python3 deploy/grafana/check_dashboard.py [deploy/grafana/dashboards/leadroute-overview.json]

Checks that the file is valid JSON, that panel ids are unique and no two panels
overlap on the grid, that every panel (rows excepted) queries the
${datasource} variable and has at least one target with a PromQL expression, and
that those expressions reference only leadroute's metric names (plus
Prometheus' own `up`). When promtool is on PATH, every expression is also
parsed by it, with Grafana's $__ variables replaced by fixed durations.
Standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "dashboards", "leadroute-overview.json"
)

COUNTERS = [
    "leadroute_records_in_total",
    "leadroute_records_out_total",
    "leadroute_dlq_total",
    "leadroute_dlq_brake_tripped_total",
    "leadroute_assignments_total",
    # enrich stage
    "leadroute_enriched_leads_total",
    "leadroute_enriched_fields_total",
    "leadroute_enrichment_conflicts_total",
    "leadroute_firmographics_lookups_total",
    "leadroute_firmographics_errors_total",
    "leadroute_firmographics_cache_total",
    # match stage (CRM matching) and crm-sync
    "leadroute_crm_matches_total",
    "leadroute_crm_duplicates_total",
    "leadroute_crm_review_total",
    "leadroute_crm_sync_events_total",
    # segment stage
    "leadroute_segmented_leads_total",
    # assign stage: routing rules, owners and fairness
    "leadroute_rules_reloads_total",
    "leadroute_route_matches_total",
    "leadroute_owner_skips_total",
    "leadroute_assignment_fallbacks_total",
    "leadroute_owner_expected_share_total",
    "leadroute_owner_placements_total",
    # state rebuilt after Redis came back empty
    "leadroute_state_rebuilds_total",
    "leadroute_state_rebuild_records_total",
]
GAUGES = [
    "leadroute_consumer_lag",
    "leadroute_input_stalled",
    "leadroute_last_processed_timestamp_seconds",
    "leadroute_stage_info",
    "leadroute_firmographics_circuit_open",
    "leadroute_crm_mirror_records",
    "leadroute_rules_version_info",
    "leadroute_state_missing",
]
HISTOGRAMS = [
    "leadroute_processing_seconds",
    "leadroute_lead_latency_seconds",
    "leadroute_firmographics_request_seconds",
    # match and assign
    "leadroute_batch_size",
]
ALLOWED = set(COUNTERS + GAUGES + ["up"])
ALLOWED.update(h + suffix for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count"))

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
}
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def metric_names(expr):
    """Identifiers in a PromQL expression that name series (not functions, labels or keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values)
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # range / subquery selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([A-Za-z_:][\w:]*)\b(\s*\()?", e):
        ident, call = m.group(1), m.group(2)
        if call or ident.lower() in KEYWORDS:
            continue
        names.add(ident)
    return names


def iter_panels(panels):
    for p in panels:
        yield p
        yield from iter_panels(p.get("panels", []))


def main(path):
    errors = []
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)

    if dash.get("uid") != "leadroute-overview":
        errors.append(f"uid is {dash.get('uid')!r}, expected 'leadroute-overview'")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        errors.append("missing datasource template variable 'datasource'")

    # Top-level panels only: those inside a collapsed row are laid out when it opens.
    placed = []
    for p in dash.get("panels", []):
        g = p.get("gridPos")
        if not g:
            continue
        for other, og in placed:
            if (
                g["x"] < og["x"] + og["w"]
                and og["x"] < g["x"] + g["w"]
                and g["y"] < og["y"] + og["h"]
                and og["y"] < g["y"] + g["h"]
            ):
                errors.append(f"panel {p.get('title')!r} overlaps panel {other!r}")
        placed.append((p.get("title"), g))

    ids, exprs, count = set(), [], 0
    for p in iter_panels(dash.get("panels", [])):
        pid, title = p.get("id"), p.get("title")
        if pid in ids:
            errors.append(f"duplicate panel id {pid}")
        ids.add(pid)
        if "gridPos" not in p:
            errors.append(f"panel {title!r} has no gridPos")
        if p.get("type") == "row":
            continue
        count += 1
        if p.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"panel {title!r} does not use the ${{datasource}} variable")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"panel {title!r} has no targets")
        for t in targets:
            expr = (t.get("expr") or "").strip()
            if not expr:
                errors.append(f"panel {title!r} target {t.get('refId')} has no expr")
                continue
            exprs.append((title, t.get("refId"), expr))
            unknown = metric_names(expr) - ALLOWED
            if unknown:
                errors.append(
                    f"panel {title!r} target {t.get('refId')} uses unknown metric(s) "
                    f"{sorted(unknown)}: {expr}"
                )

    promtool = shutil.which("promtool")
    if promtool and exprs:
        rules = ["groups:", "  - name: dashboard-exprs", "    rules:"]
        for i, (_, _, expr) in enumerate(exprs):
            for var, value in GRAFANA_VARS.items():
                expr = expr.replace(var, value)
            rules.append(f"      - record: dashboard_expr_{i}")
            rules.append("        expr: " + json.dumps(expr))
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as tmp:
            tmp.write("\n".join(rules) + "\n")
        try:
            res = subprocess.run([promtool, "check", "rules", tmp.name], capture_output=True, text=True)
            if res.returncode != 0:
                errors.append(
                    "promtool could not parse the dashboard expressions:\n" + res.stdout + res.stderr
                )
        finally:
            os.unlink(tmp.name)

    for e in errors:
        print("ERROR:", e)
    parsed = "parsed by promtool" if promtool else "promtool not found, PromQL not parsed"
    print(
        f"{path}: {count} panels, {len(exprs)} queries, {parsed}; "
        f"{'OK' if not errors else f'{len(errors)} error(s)'}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH))
