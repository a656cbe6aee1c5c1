"""kill -9 of stages while leads stream through: nothing lost, nobody gets a lead twice.

Every stage runs in its own process under the supervisor (what ``leadroute run
all`` starts), routing with the example rules and team. While a paced upstream
publishes, stages are killed with SIGKILL one after another, mid-batch and
mid-transaction; the supervisor restarts each. Afterwards:

* every published message is in leads.assigned or in leads.dlq, and only for a
  reason that is the data's (never a processing or infrastructure error);
* no lead has two different destinations; where the broker delivers a lead
  twice (at-least-once, or a broker that shows aborted transactions) the second
  event is a replay with the same owner;
* under exactly-once on a broker that hides aborted transactions, each lead
  is on leads.assigned exactly once;
* the ledger counted each assigned lead once: its per-owner counts equal the
  leads each owner got, and it holds one decision per lead.

The short form (CI) kills four stages under exactly-once and three under
at-least-once; ``LEADROUTE_FAULTS=full`` kills all seven under each, with more leads.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from streams import topics, wiring
from streams.routing.router import EXAMPLE_RULES
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from tests.integration.conftest import make_settings
from tests.support import faults
from tests.support.scale import fault_scale, full

pytestmark = [pytest.mark.integration, pytest.mark.faults]

ALL_STAGES = list(STAGES)
SHORT_KILLS = {
    "exactly-once": ["segment", "assign", "normalize", "owner-sync"],
    "at-least-once": ["match", "enrich", "crm-sync"],
}


@pytest.fixture(scope="module")
def hides_aborted(infra: Any) -> bool:
    return faults.broker_hides_aborted_records(infra.kafka_bootstrap)


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_killed_stages_lose_nothing_and_assign_nobody_twice(
    infra: Any, hides_aborted: bool, guarantee: str
) -> None:
    kills = ALL_STAGES if full() else SHORT_KILLS[guarantee]
    count = fault_scale(600, 3_000)
    rate = fault_scale(60, 150)
    settings = make_settings(
        infra,
        processing_guarantee=guarantee,
        rules_file=str(EXAMPLE_RULES),
        # A longer commit interval keeps each transaction open for a while, so kills land inside one.
        commit_interval=0.5,
        batch_size=50,
    )
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    supervisor = Supervisor(settings, ALL_STAGES, quiet=True)
    outcomes = faults.Outcomes(settings)
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, args=(0.2,), daemon=True)
    try:
        team = faults.publish_team(settings)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team", 90)
        watcher.start()
        publisher = faults.PacedPublisher(settings, count, rate).start()
        spacing = (count / rate) / (len(kills) + 1)
        killed: list[tuple[str, int]] = []
        for stage in kills:
            time.sleep(spacing)
            pid = supervisor.children[stage].process.pid
            os.kill(pid, signal.SIGKILL)
            killed.append((stage, pid))
        published = publisher.join()
        assert published.failed == 0
        outcomes.wait_for_all(published, timeout=fault_scale(180, 420))
        restarted = {stage for stage, pid in killed if supervisor.children[stage].process.pid != pid}
        assert restarted == set(kills), "the supervisor did not restart every killed stage"
        time.sleep(1.0)  # late duplicates, if any, arrive before the checks
        outcomes.poll(1.0)
    finally:
        supervisor.stop()
        watcher.join(15)
        outcomes.close()

    faults.check_accounting(outcomes, settings, guarantee=guarantee, hides_aborted=hides_aborted)
