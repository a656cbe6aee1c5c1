"""``leadroute crm load`` against the real broker: what lands on the compacted CRM topics."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from streams import topics
from streams.cli.main import main
from streams.events import crm as crm_events
from streams.settings import Settings, settings_env
from tests.integration.conftest import make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration

ACCOUNTS = """Record ID,Account Name,Website,Alternate Domains,Account Owner,Parent Account,Billing Country
acc-1,Acme Ltd,https://www.acme.com,acme.co.uk,owner-01,,United Kingdom
acc-2,Acme Deutschland GmbH,acme.de,,owner-02,acc-1,Germany
acc-3,Gone Corp,gone.com,,owner-03,,US
acc-4,Nowhere Inc,nowhere.com,,owner-04,,Atlantis
"""
CONTACTS = """Contact ID,Email Address,Phone Number,First Name,Last Name,Account ID,Contact owner,Country
con-1,Jane.Doe@ACME.com,020 7946 0958,Jane,Doe,acc-1,owner-01,UK
con-2,,,,,acc-1,owner-01,UK
"""
LEADS = "id,email,first_name,last_name,company,status\nlead-1,max@gmail.com,Max,Muster,Acme,new\n"
OPPORTUNITIES = """Deal ID,Company ID,Deal owner,Deal Stage,Amount,Close Date
opp-1,acc-1,owner-01,Closed Won,1000,2025-06-30
"""


def _invoke(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["crm", "load", *args], env=settings_env(settings), catch_exceptions=False
    )


def _read_back(settings: Settings, expected: int, timeout: float = 30.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"crm-probe-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    # Assigned, not subscribed: no group to join, every partition from its first offset.
    names = [topics.name(settings, base) for base in topics.CRM_TOPICS.values()]
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [
            TopicPartition(name, partition, OFFSET_BEGINNING)
            for name in names
            for partition in metadata.topics[name].partitions
        ]
    )
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            messages.extend(m for m in consumer.consume(100, timeout=0.2) if not m.error())
    finally:
        consumer.close()
    return messages


@pytest.fixture
def crm_files(tmp_path: Path) -> dict[str, Path]:
    files = {"accounts": ACCOUNTS, "contacts": CONTACTS, "leads": LEADS, "opportunities": OPPORTUNITIES}
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_crm_load_publishes_keyed_events_and_tombstones(
    infra: Services, crm_files: dict[str, Path], tmp_path: Path
) -> None:
    settings = make_settings(infra)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    result = _invoke(
        settings, *[arg for name, path in crm_files.items() for arg in (f"--{name}", str(path))], "--json"
    )
    assert result.exit_code == 1, result.output  # one account and one contact are rejected
    report = json.loads(result.stdout)
    by_kind = {f["kind"]: f for f in report["files"]}
    assert {k: (f["rows"], f["published"], f["rejected"]) for k, f in by_kind.items()} == {
        "account": (4, 3, 1),
        "contact": (2, 1, 1),
        "lead": (1, 1, 0),
        "opportunity": (1, 1, 0),
    }
    assert by_kind["account"]["rejections"][0]["line"] == 5
    assert "Atlantis" in by_kind["account"]["rejections"][0]["reason"]
    assert by_kind["contact"]["rejections"][0]["line"] == 3

    deletes = tmp_path / "deleted.csv"
    deletes.write_text("id,deleted\nacc-3,true\n", encoding="utf-8")
    again = _invoke(settings, "--accounts", str(deletes), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["files"][0]["deleted"] == 1

    messages = _read_back(settings, expected=7)
    events = [
        (crm_events.kind_for_topic(m.topic(), settings.topic_prefix), m.key().decode(), m) for m in messages
    ]
    keys = sorted((kind, key) for kind, key, _ in events)
    assert keys == [
        ("account", "acc-1"),
        ("account", "acc-2"),
        ("account", "acc-3"),
        ("account", "acc-3"),
        ("contact", "con-1"),
        ("lead", "lead-1"),
        ("opportunity", "opp-1"),
    ]
    records = {}
    for kind, key, message in events:
        record = crm_events.decode(kind, message.value(), message.headers())
        if record is not None:
            assert record["id"] == key
            records[key] = record
        else:
            assert key == "acc-3"
            assert message.value() is None
            assert dict(message.headers())["content-type"] == b"application/vnd.leadroute.crmaccount+avro"
    assert records["acc-1"]["domains"] == ["acme.com", "acme.co.uk"]
    assert records["acc-2"]["parent_id"] == "acc-1"
    assert records["con-1"]["email"] == "jane.doe@acme.com"
    assert records["con-1"]["phone"] == "+442079460958"
    assert records["lead-1"]["kind"] == "lead"
    assert records["opp-1"]["is_open"] is False
    # The tombstone comes after the record it deletes (same key, same partition).
    acc3 = [m for kind, key, m in events if key == "acc-3"]
    assert acc3[0].partition() == acc3[1].partition()
    assert [m.value() is None for m in sorted(acc3, key=lambda m: m.offset())] == [False, True]


def test_crm_load_exit_codes_for_missing_topics_bad_files_and_no_broker(
    infra: Services, crm_files: dict[str, Path], tmp_path: Path
) -> None:
    settings = make_settings(infra)  # topics not created
    missing = _invoke(settings, "--leads", str(crm_files["leads"]))
    assert missing.exit_code == 3
    assert "leadroute topics create" in missing.output

    headless = tmp_path / "opps.csv"
    headless.write_text("Deal Stage,Amount\nProposal,1\n", encoding="utf-8")
    bad = _invoke(settings, "--opportunities", str(headless), "--json")
    assert bad.exit_code == 2
    assert "no column for id" in json.loads(bad.stdout)["error"]

    unreachable = make_settings(infra, kafka_bootstrap="127.0.0.1:9")
    down = _invoke(unreachable, "--leads", str(crm_files["leads"]), "--json")
    assert down.exit_code == 4
    assert "unreachable" in json.loads(down.stdout)["error"]


def test_crm_generate_publish_writes_csvs_and_publishes_every_record(infra: Services, tmp_path: Path) -> None:
    settings = make_settings(infra)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    result = CliRunner().invoke(
        main,
        ["crm", "generate", "--accounts", "60", "--out", str(tmp_path), "--publish", "--json"],
        env=settings_env(settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["files"]["account"]["records"] == 60
    assert all(f["published"] == f["records"] for f in summary["files"].values())
    assert len(_read_back(settings, expected=summary["records"])) == summary["records"]
    reload = _invoke(settings, "--accounts", str(tmp_path / "accounts.csv"), "--json")
    assert reload.exit_code == 0
    assert json.loads(reload.stdout)["files"][0]["published"] == 60
