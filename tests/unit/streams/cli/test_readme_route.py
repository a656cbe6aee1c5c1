"""The README's batch-routing commands, run exactly as written in an empty directory."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from streams.routing.output import check_path
from streams.settings import Settings
from tests.support.paths import REPO

README = REPO / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _commands(section: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def _run_as_a_user(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """bash -e in ``cwd`` with this install's ``leadroute`` first on PATH and no LEADROUTE_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_batch_routing_commands_work_as_written(tmp_path: Path) -> None:
    blocks = _commands(_section("Batch routing"))
    assert len(blocks) == 2
    done = _run_as_a_user("\n".join(blocks), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    full = [json.loads(line) for line in (tmp_path / "assignments.jsonl").read_text().splitlines()]
    assert [event["lead_id"] for event in full] == ["l-1", "l-2"]
    assert all("lead" in event for event in full)

    compact = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert [event["lead_id"] for event in compact] == ["l-1", "l-2"]
    assert all("lead" not in event and "reason" in event for event in compact)
    bigcorp = compact[0]  # its account in accounts.csv names sam.adeyemi as the owner
    assert (bigcorp["destination_type"], bigcorp["destination"]) == ("owner", "sam.adeyemi")
    assert {event["decided_at_ms"] for event in compact} == {1796634000000}  # --at 2026-12-07T10:00+01:00

    with (tmp_path / "decisions.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["lead_id", "destination_type", "destination", "channel", "route", "reason"]
    assert [row[0] for row in rows[1:]] == ["l-1", "l-2"]


def test_the_option_table_names_every_option_route_has_of_its_own() -> None:
    """Every option of ``route`` but the settings flags (those are in the Settings table)."""
    from streams.cli.route import route

    settings = {f.name for f in dataclasses.fields(Settings)}
    own = [opt for p in route.params if p.name not in settings for opt in p.opts if opt.startswith("--")]
    assert "--compact" in own and "--crm-opportunities" in own
    section = _section("Batch routing")
    assert [opt for opt in own if f"`{opt}" not in section] == []
    for path in ("lead_id", "destination", "lead.crm.account.id"):  # the paths the table shows
        check_path(path)
