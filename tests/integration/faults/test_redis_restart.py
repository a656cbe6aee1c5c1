"""Redis stopped mid-stream and started again empty: nothing lost, owners and the CRM come back by themselves.

The pipeline (every stage under the supervisor, the example rules and team) runs
against a Redis of the test's own with no persistence. While leads stream
through, that Redis is stopped for a while and started again with nothing in
it. Afterwards:

* every published lead is in leads.assigned or in leads.dlq for a reason that
  is the data's; none was dead-lettered or lost for the outage;
* no lead went to a fallback because its owners were unknown: the assign stage
  held leads until owner-sync had rebuilt the directory from the owners topic;
* leads at CRM accounts still match them: crm-sync rebuilt the mirror from the
  CRM topics without a manual step;
* a lead decided before the restart and delivered again keeps its first owner,
  from the decisions the assign stage read back from leads.assigned, and each
  owner's counts (caps) are counted again from those events: the ledger ends
  with one count per lead each owner got, before the wipe and after.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Producer

from streams import topics, wiring
from streams.adapters.redis_state_marker import StateStatus
from streams.events import crm as crm_events
from streams.routing.router import EXAMPLE_RULES
from streams.stages.registry import STAGES
from streams.supervisor import Supervisor
from tests.integration.conftest import make_settings
from tests.support import faults
from tests.support.scale import fault_scale

pytestmark = [pytest.mark.integration, pytest.mark.faults]

ACCOUNTS = 6


def _accounts(run: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"acc-{run}-{i}",
            "name": f"Plinthwick{run}{i} Ltd",
            "domains": [f"plinthwick{run}{i}.com"],
            "website": None,
            "owner_id": "emma.li",
            "parent_id": None,
            "employees": 900,
            "industry": "Manufacturing",
            "country_code": "GB",
            "type": "customer",
            "tier": "enterprise",
            "last_activity_ms": None,
        }
        for i in range(ACCOUNTS)
    ]


def _publish_accounts(settings: Any, accounts: list[dict[str, Any]]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 1})
    topic = topics.name(settings, topics.CRM_TOPICS["account"])
    for account in accounts:
        key, value, headers = crm_events.encode("account", account)
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(10) == 0


def test_redis_restarting_empty_loses_no_lead_and_rebuilds_owners_crm_and_decisions(infra: Any) -> None:
    own = faults.OwnRedis().start()
    count = fault_scale(450, 2_000)
    rate = fault_scale(30, 100)
    outage_s = 10.0
    settings = make_settings(
        infra,
        redis_url=own.url,
        rules_file=str(EXAMPLE_RULES),
        commit_interval=0.2,
        batch_size=50,
        state_check_seconds=1.0,
    )
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    run = uuid.uuid4().hex[:6]
    accounts = _accounts(run)
    supervisor = Supervisor(settings, list(STAGES), quiet=True)
    outcomes = faults.Outcomes(settings)
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, args=(0.2,), daemon=True)
    try:
        team = faults.publish_team(settings)
        _publish_accounts(settings, accounts)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team", 90)
        watcher.start()
        publisher = faults.PacedPublisher(settings, count, rate).start()

        def some_decided() -> bool:
            outcomes.poll(0.2)
            return len(outcomes.assigned) >= 30

        faults.wait_until(some_decided, "the first leads to be assigned", 120)
        own.stop()
        wiped_at_ms = int(time.time() * 1000)
        time.sleep(outage_s)
        own.start()
        published = publisher.join(timeout=count / rate + 120)
        assert published.failed == 0
        outcomes.wait_for_all(published, timeout=240)

        # Leads decided before the wipe, delivered again, and leads at the CRM's accounts.
        before = [
            lead_id
            for lead_id, events in outcomes.assigned.items()
            if events[0]["decided_at_ms"] < wiped_at_ms
        ][:20]
        assert before, f"no lead was decided before the wipe at {wiped_at_ms}: " + str(
            [(e[0]["decided_at_ms"], e[0]["replayed"]) for e in list(outcomes.assigned.values())[:5]]
        )
        by_id = {message.lead_id: (value, headers) for value, headers, message in publisher.messages}
        probes = {f"probe-{run}-{i}": account for i, account in enumerate(accounts)}
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 1})
        raw = topics.name(settings, topics.RAW)
        for lead_id in before:
            value, headers = by_id[lead_id]
            producer.produce(raw, key=lead_id.encode(), value=value, headers=headers)
        for lead_id, account in probes.items():
            body = {"lead_id": lead_id, "email": f"sam.lee@{account['domains'][0]}", "first_name": "Sam"}
            producer.produce(raw, key=lead_id.encode(), value=json.dumps(body).encode())
        assert producer.flush(10) == 0

        def replays_and_probes_arrived() -> bool:
            outcomes.poll(0.5)
            return all(len(outcomes.assigned[lead]) >= 2 for lead in before) and all(
                outcomes.assigned.get(lead) for lead in probes
            )

        faults.wait_until(replays_and_probes_arrived, "the replays and probe leads", 120)
        markers = {
            keyspace: wiring.state_marker(settings, keyspace).status()
            for keyspace in ("owners", "crm", "assign")
        }
        owners_after = directory.fresh()
        ledger_counts = faults.ledger_owner_counts(settings)
    finally:
        try:
            supervisor.stop()
            if watcher.is_alive():
                watcher.join(15)
            outcomes.close()
        finally:
            own.stop()  # never left running, whatever failed above

    report = faults.summary(outcomes)
    codes = {record["error_code"] for record in outcomes.dead}
    assert codes <= faults.DATA_CODES, f"dead-lettered for a reason that is not the data's: {report}"
    assert len(owners_after) == team, "the owner directory was not rebuilt from the owners topic"

    unknown = [
        lead_id
        for lead_id, events in outcomes.assigned.items()
        if any("unknown owner" in skip["reason"] for event in events for skip in event["skips"])
    ]
    assert unknown == [], f"{len(unknown)} leads were routed while the owner directory was missing: " + str(
        [
            (e["decided_at_ms"] - wiped_at_ms, [s["reason"] for s in e["skips"]])
            for lead in unknown
            for e in outcomes.assigned[lead]
        ]
    )
    for lead_id, events in outcomes.assigned.items():
        destinations = {(e["destination_type"], e["destination"]) for e in events}
        assert len(destinations) == 1, f"{lead_id} went to {destinations}"
    for lead_id in before:
        first, again = outcomes.assigned[lead_id][0], outcomes.assigned[lead_id][-1]
        assert again["replayed"], f"{lead_id} was decided afresh after the wipe"
        assert again["decision_path"][:-1] == first["decision_path"]
    to_owner = Counter(
        events[0]["destination"]
        for events in outcomes.assigned.values()
        if events[0]["destination_type"] == "owner"
    )
    counted = {owner: n for owner, n in ledger_counts.items() if n}
    assert counted == dict(to_owner), "the owners' counts were not recounted from leads.assigned"
    for lead_id, account in probes.items():
        event = outcomes.assigned[lead_id][0]
        crm = event["lead"]["crm"]
        assert crm["account"] and crm["account"]["id"] == account["id"], f"{lead_id} missed its account"
        assert event["destination"] == "emma.li", f"{lead_id} did not go to its account's owner"
    assert markers == dict.fromkeys(markers, StateStatus.READY)
