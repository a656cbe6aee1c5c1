"""A second instance of a stage joins its consumer group mid-stream and leaves again: nothing lost or doubled.

Every stage runs under the supervisor (what ``leadroute run all`` starts), every
topic with two partitions. While a paced upstream publishes, a second process
of one stage starts (``leadroute run <stage>`` with its own
LEADROUTE_INSTANCE_ID and metrics port), joins the stage's consumer group and
takes partitions from the first; once it has processed leads it leaves, with
SIGTERM (a scale-down) or SIGKILL (a crash). Afterwards:

* the second instance really took part: it processed leads of its own;
* every published message is in leads.assigned or, for a reason that is the
  data's, in leads.dlq; no lead has two owners; a lead delivered twice is a
  replay of the first decision; under exactly-once none is delivered twice
  when the instance leaves with SIGTERM (nothing is aborted), nor after a
  SIGKILL on a broker that hides aborted transactions; the ledger moved once
  per assigned lead;
* no process logged a traceback, a stopped instance exits 0, and the
  supervisor restarted nothing, unless for a documented outage (exit 4 or 5:
  on a loaded machine Redis may answer too slowly once).

A SIGKILLed instance under exactly-once leaves a transaction open. Apache Kafka
aborts it after LEADROUTE_TRANSACTION_TIMEOUT_MS; the embedded broker ignores
the timeout, so there the next stage would wait behind it for good. The test
therefore brings the killed instance back under the same LEADROUTE_INSTANCE_ID
(as a StatefulSet does), which fences the dead process and ends its
transaction at once, and then scales it down with SIGTERM.

The short form (CI) runs two cases; ``LEADROUTE_FAULTS=full`` runs four, with
more leads.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

import pytest

from streams import topics, wiring
from streams.demo import embedded
from streams.routing.router import EXAMPLE_RULES
from streams.settings import Settings, settings_env
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from tests.integration.conftest import make_settings
from tests.support import faults
from tests.support.scale import fault_scale, full
from tests.support.services import Services

pytestmark = [pytest.mark.integration, pytest.mark.faults]

ALL_STAGES = list(STAGES)
# CI runs the harder leave (SIGKILL mid-batch); the full form adds a graceful leave under
# exactly-once, which must deliver no lead twice, and the other stages.
SHORT_CASES = [
    ("at-least-once", "match", "SIGKILL"),
]
FULL_CASES = [
    ("exactly-once", "assign", "SIGTERM"),
    ("exactly-once", "segment", "SIGKILL"),
    ("at-least-once", "assign", "SIGTERM"),
]


class SecondInstance:
    """One more process of a stage, as a second pod or ``leadroute run <stage>`` on another host would be."""

    def __init__(self, settings: Settings, stage: str, instance_id: str, log_dir: Path) -> None:
        self.settings = settings
        self.stage = stage
        self.instance_id = instance_id
        self.port = embedded.free_port()
        self.log_path = log_dir / f"{stage}-{instance_id}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_codes: list[int] = []

    def start(self) -> None:
        env = {**os.environ, **settings_env(self.settings), "LEADROUTE_INSTANCE_ID": self.instance_id}
        command = [
            sys.executable,
            "-m",
            "streams.cli",
            "run",
            self.stage,
            "--stage-port",
            str(self.port),
        ]
        log: IO[bytes]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def processed(self) -> int:
        """Records this process read from its input (its /metrics), 0 while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=1) as response:
                text = response.read().decode()
        except OSError:
            return 0
        found = re.search(rf'^leadroute_records_in_total{{stage="{self.stage}"}} (\S+)$', text, re.M)
        return int(float(found.group(1))) if found else 0

    def signal(self, signum: signal.Signals, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        self.exit_codes.append(code)
        return code

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="module")
def hides_aborted(infra: Services) -> bool:
    return faults.broker_hides_aborted_records(infra.kafka_bootstrap)


@pytest.mark.parametrize(("guarantee", "stage", "leave"), SHORT_CASES + (FULL_CASES if full() else []))
def test_a_second_instance_joins_and_leaves_without_loss_or_duplication(
    infra: Services,
    hides_aborted: bool,
    guarantee: str,
    stage: str,
    leave: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="streams.supervisor")
    rate = fault_scale(30, 60)
    count = int(rate * fault_scale(24, 60))
    settings = make_settings(
        infra,
        processing_guarantee=guarantee,
        rules_file=str(EXAMPLE_RULES),
        commit_interval=0.5,
        batch_size=50,
        partitions=2,
    )
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    supervisor = Supervisor(settings, ALL_STAGES, quiet=True, log_dir=str(tmp_path))
    second = SecondInstance(settings, stage, "second", tmp_path)
    outcomes = faults.Outcomes(settings)
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, args=(0.2,), daemon=True)
    publisher_running_at_leave = False
    try:
        team = faults.publish_team(settings)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team", 90)
        watcher.start()
        publisher = faults.PacedPublisher(settings, count, rate).start()
        faults.wait_for_assigned(outcomes, 10, timeout=60)

        second.start()
        faults.wait_until(lambda: second.processed() >= 20, f"a second {stage} to take partitions", 60)
        if leave == "SIGKILL":
            second.signal(signal.SIGKILL)
            if guarantee == "exactly-once":
                # Back under the same instance id: it fences the dead process and ends its transaction.
                second.start()
                faults.wait_until(lambda: second.processed() >= 1, f"the {stage} back to process", 60)
        publisher_running_at_leave = publisher._thread.is_alive()
        code = second.signal(signal.SIGTERM) if second.process.poll() is None else None
        published = publisher.join(180)
        assert published.failed == 0
        outcomes.wait_for_all(published, timeout=fault_scale(180, 420))
        time.sleep(1.0)  # late duplicates, if any, arrive before the checks
        outcomes.poll(1.0)
    finally:
        second.kill_if_running()
        supervisor.stop()
        watcher.join(15)
        outcomes.close()

    if code is not None:
        assert code == 0, f"the second {stage} did not stop cleanly on SIGTERM (exit {code})"
    restarts = faults.supervisor_restarts(caplog.records)
    assert {reason for _, reason in restarts} <= {"broker unreachable", "exit code 5"}, restarts
    assert faults.tracebacks(str(tmp_path)) == {}, "a process logged a traceback"
    # A join and a graceful leave commit on revocation and abort nothing: under exactly-once no
    # lead may be delivered twice, even on a broker that shows aborted transactions.
    graceful = guarantee == "exactly-once" and leave == "SIGTERM"
    report = faults.check_accounting(
        outcomes, settings, guarantee=guarantee, hides_aborted=hides_aborted or graceful
    )
    print(
        f"{guarantee}, second {stage} left by {leave}: {report}; exits of the second {second.exit_codes}; "
        f"upstream still publishing when it left: {publisher_running_at_leave}; restarts {restarts}"
    )
