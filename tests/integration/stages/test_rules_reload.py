"""A running assign stage picks up a changed rules file, and refuses a broken one without stopping."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams import topics
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from tests.integration.conftest import PipelineProbe, make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration

RULES = """version: 1
name: reload-test
defaults: {{channel: sales}}
queues: [first, second]
routes:
  - name: everything
    assign: {{queue: {queue}}}
"""


def _save(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = time.time() + bump
    os.utime(path, (stamp, stamp))


@pytest.fixture(scope="module")
def reloading(
    infra: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PipelineProbe, Path]]:
    rules = tmp_path_factory.mktemp("rules") / "rules.yaml"
    _save(rules, RULES.format(queue="first"), 0)
    settings = make_settings(infra, rules_file=str(rules), rules_reload_seconds=0.5)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    # owner-sync and crm-sync too: match and assign hold leads until Redis holds owners and the CRM.
    supervisor = Supervisor(settings, list(STAGES))
    supervisor.start()
    probe = PipelineProbe(settings)
    try:
        yield probe, rules
    finally:
        probe.close()
        supervisor.stop()


def _route(probe: PipelineProbe) -> dict[str, Any]:
    lead_id = f"reload-{uuid.uuid4().hex[:12]}"
    probe.publish(json.dumps({"lead_id": lead_id, "email": f"{lead_id}@example.org"}).encode())
    probe.wait_for(lambda: probe.assigned_for(lead_id), timeout=90)
    return probe.assigned_for(lead_id)[0]


def test_a_saved_change_routes_the_next_leads_without_a_restart(
    reloading: tuple[PipelineProbe, Path],
) -> None:
    probe, rules = reloading
    first = _route(probe)
    assert first["destination"] == "first"
    _save(rules, RULES.format(queue="second"), 5)
    deadline = time.monotonic() + 60
    while (event := _route(probe))["destination"] != "second":
        assert time.monotonic() < deadline, "the stage never routed with the saved rules"
    assert event["rules_version"] != first["rules_version"]

    # A broken save is refused; the version that was routing keeps routing.
    _save(rules, "version: 1\nroutes:\n  - name: x\n    assign: {pool: nobody}\n", 10)
    time.sleep(2)
    after = [_route(probe) for _ in range(3)]
    assert {e["destination"] for e in after} == {"second"}
    assert {e["rules_version"] for e in after} == {event["rules_version"]}
