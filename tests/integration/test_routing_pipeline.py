"""Routing end to end: owners through owner-sync, a CRM account through crm-sync, leads through every stage.

A lead at an existing account goes to the account's owner; new EMEA enterprise
leads go round robin through the example rules' EMEA enterprise pool, skipping
the owner who is out of office, and every event says so.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from processors.crm.models import MatchQuery
from streams import topics, wiring
from streams.cli.owners import OwnerPublisher
from streams.demo.run import DEMO_AWAY_OWNER, demo_team
from streams.events import crm as crm_events
from streams.serde import AvroCodec
from tests.integration.conftest import PipelineProbe

pytestmark = pytest.mark.integration


def _wait_until(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _route(probe: PipelineProbe, **fields: str) -> dict[str, Any]:
    lead_id = f"route-{uuid.uuid4().hex[:12]}"
    probe.publish(json.dumps({"lead_id": lead_id, **fields}).encode(), key=lead_id.encode())
    probe.wait_for(lambda: probe.assigned_for(lead_id), timeout=90)
    return probe.assigned_for(lead_id)[0]


@pytest.fixture(scope="module")
def team_and_account(pipeline_settings: Any, running_pipeline: Any) -> dict[str, str]:
    publisher = OwnerPublisher(pipeline_settings)
    team = demo_team(int(time.time() * 1000))
    for owner in team:
        publisher.publish(owner)
    assert publisher.flush() == 0
    directory = wiring.owner_directory(pipeline_settings)
    _wait_until(lambda: directory.count() >= len(team), "owner-sync to store the team")

    run = uuid.uuid4().hex[:6]
    domain = f"quorvane{run}.co.uk"
    account = {
        "id": f"acc-{run}", "name": f"Quorvane {run} Ltd", "domains": [domain], "website": f"https://{domain}",
        "owner_id": "carla.mendes", "parent_id": None, "employees": 800, "industry": "Manufacturing",
        "country_code": "GB", "type": "customer", "tier": "mid-market", "last_activity_ms": None,
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": pipeline_settings.kafka_bootstrap, "linger.ms": 1})
    key, value, headers = crm_events.encode("account", account)
    producer.produce(
        topics.name(pipeline_settings, topics.CRM_ACCOUNTS), key=key, value=value, headers=headers
    )
    producer.flush(10)
    mirror = wiring.crm_mirror(pipeline_settings)
    _wait_until(lambda: mirror.candidates(MatchQuery(domain=domain)).accounts_by_domain, "crm-sync")
    return {"domain": domain, "account_id": account["id"]}


def test_a_lead_at_an_existing_account_goes_to_the_account_owner(
    probe: PipelineProbe, team_and_account: dict[str, str]
) -> None:
    event = _route(probe, email=f"jane@{team_and_account['domain']}", first_name="Jane", country="GB")
    assert event["lead"]["crm"]["account"]["id"] == team_and_account["account_id"]
    assert (event["destination_type"], event["destination"]) == ("owner", "carla.mendes")
    assert event["route"] == "existing-accounts / account-owner"
    assert event["action"] == "account owner carla.mendes"
    assert event["channel"] == "sales"
    assert event["rules_version"].startswith("rules@")


def test_new_emea_enterprise_leads_go_round_robin_skipping_the_owner_out_of_office(
    probe: PipelineProbe, team_and_account: dict[str, str]
) -> None:
    events = []
    for index in range(4):
        run = uuid.uuid4().hex[:8]
        events.append(
            _route(
                probe,
                email=f"cto{index}@brandnew{run}.co.uk",
                company=f"Brandnew {run} plc",
                employees="4200",
                country="GB",
                title="Chief Technology Officer",
                source="web",
            )
        )
    assert {e["route"] for e in events} == {"emea / enterprise"}
    assert {e["action"] for e in events} == {"pool emea-enterprise (round_robin)"}
    chosen = [e["destination"] for e in events]
    assert DEMO_AWAY_OWNER not in chosen
    assert set(chosen) == {"kate.obrien", "greta.schulz"}
    assert all(chosen[i] != chosen[i + 1] for i in range(len(chosen) - 1)), chosen  # round robin
    skips = [s for e in events for s in e["skips"] if s["owner_id"] == DEMO_AWAY_OWNER]
    assert skips, "the out-of-office owner's skip must be recorded in the event"
    assert all(s["reason"].startswith("out of office until") for s in skips)
    assert all(s["action"] == "pool emea-enterprise (round_robin)" for s in skips)
    assert any(
        f"skipped {DEMO_AWAY_OWNER}: out of office" in line for e in events for line in e["decision_path"]
    )
    assert all({"emea", "uk-ireland"} <= set(e["territories"]) for e in events)


def test_every_assignment_is_also_published_on_its_channel_topic(
    probe: PipelineProbe, team_and_account: dict[str, str]
) -> None:
    event = _route(probe, email="someone@mailinator.com", first_name="Throwaway")
    assert event["channel"] == "disqualified"
    consumer = Consumer(
        {
            "bootstrap.servers": probe.settings.kafka_bootstrap,
            "group.id": f"channel-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.subscribe([topics.name(probe.settings, topics.channel_topic("disqualified"))])
    codec, found = AvroCodec("Assignment"), []
    deadline = time.monotonic() + 60
    try:
        while not found and time.monotonic() < deadline:
            for message in consumer.consume(100, timeout=0.5):
                if message.error() or message.value() is None:
                    continue
                record = codec.decode(message.value())
                if record["lead_id"] == event["lead_id"]:
                    found.append(record)
    finally:
        consumer.close()
    assert found and found[0]["destination"] == event["destination"] == "disqualified"


def test_simulate_replays_a_time_range_of_the_assigned_topic(
    probe: PipelineProbe, team_and_account: dict[str, str], tmp_path: Any
) -> None:
    from datetime import UTC, datetime

    from click.testing import CliRunner

    from streams.cli.main import main
    from streams.routing.router import DEMO_OWNERS
    from streams.settings import settings_env

    since = datetime.now(UTC).isoformat()
    routed = [_route(probe, email=f"buyer{i}@newco{uuid.uuid4().hex[:8]}.de", country="DE") for i in range(3)]
    draft = tmp_path / "nurture.yaml"
    draft.write_text(
        "version: 1\ndefaults: {channel: nurture}\nroutes:\n  - name: all\n    assign: {queue: nurture}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main,
        ["simulate", "--rules", str(draft), "--since", since, "--owners", str(DEMO_OWNERS), "--json"],
        env={**settings_env(probe.settings), "LEADROUTE_LOG_LEVEL": "WARNING"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert diff["before"] == "what happened"
    assert diff["leads"] >= len(routed)
    after = {row["name"]: row["after"] for row in diff["destinations"] if row["after"]}
    assert after == {"queue:nurture": diff["leads"]}  # the draft sends every one of them to nurture
