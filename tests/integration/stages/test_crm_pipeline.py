"""CRM events through crm-sync into the mirror, and leads matched against it, end to end."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from processors.crm.models import MatchQuery
from streams import topics, wiring
from streams.events import crm as crm_events
from tests.integration.conftest import PipelineProbe

pytestmark = pytest.mark.integration


def _account(account_id: str, name: str, domains: list[str], owner: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": account_id, "name": name, "domains": domains, "website": f"https://{domains[0]}",
        "owner_id": owner, "parent_id": None, "employees": 1200, "industry": "Manufacturing",
        "country_code": "GB", "type": "customer", "tier": "enterprise", "last_activity_ms": None,
    } | extra  # fmt: skip


def _publish(
    producer: Producer, probe: PipelineProbe, kind: str, key: bytes, value: bytes | None, headers: Any
) -> None:
    producer.produce(probe.topic(topics.CRM_TOPICS[kind]), key=key, value=value, headers=headers)


def _wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the CRM mirror never reached the expected state")


def _lead(probe: PipelineProbe, **fields: str) -> dict[str, Any]:
    lead_id = f"crm-{uuid.uuid4().hex[:12]}"
    probe.publish(json.dumps({"lead_id": lead_id, **fields}).encode(), key=lead_id.encode())
    probe.wait_for(lambda: probe.assigned_for(lead_id), timeout=90)
    return probe.assigned_for(lead_id)[0]["lead"]


def test_crm_changes_reach_the_mirror_and_leads_match_existing_accounts(probe: PipelineProbe) -> None:
    run = uuid.uuid4().hex[:6]
    word = f"Zyxorp{run}"
    primary, alternate = f"{word.lower()}.com", f"{word.lower()}.co.uk"
    account = _account(f"acc-{run}", f"{word} Ltd", [primary, alternate], "owner-07")
    opportunity = {
        "id": f"opp-{run}", "account_id": account["id"], "owner_id": "owner-07", "stage": "Proposal",
        "amount": 125000.0, "is_open": True, "close_date": "2027-01-31",
    }  # fmt: skip
    contact = {
        "id": f"con-{run}", "kind": "contact", "email": f"known.person@{primary}", "phone": None,
        "first_name": "Known", "last_name": "Person", "company": account["name"],
        "account_id": account["id"], "owner_id": "owner-03", "status": "active",
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": probe.settings.kafka_bootstrap, "linger.ms": 1})
    for kind, record in (("account", account), ("opportunity", opportunity), ("contact", contact)):
        _publish(producer, probe, kind, *crm_events.encode(kind, record))  # type: ignore[arg-type]
    producer.flush(10)
    mirror = wiring.crm_mirror(probe.settings)
    _wait_until(lambda: mirror.candidates(MatchQuery(email_key=contact["email"])).people_by_email)
    _wait_until(lambda: mirror.candidates(MatchQuery(domain=alternate)).accounts_by_domain)

    # A mail subdomain of an alternate domain: matched by domain, with the owner and the open deal.
    crm = _lead(probe, email=f"jane@sub.{alternate}", first_name="Jane", last_name="Doe")["crm"]
    assert crm["account"]["id"] == account["id"] and crm["account"]["method"] == "domain"
    assert crm["account"]["owner_id"] == "owner-07"
    assert [o["id"] for o in crm["open_opportunities"]] == [opportunity["id"]]
    assert crm["has_open_opportunity"] is True

    # A free-mail lead whose company is the account's name in another legal form: fuzzy, with its score.
    crm = _lead(probe, email="jo.bloggs@gmail.com", company=f"{word.upper()} Limited")["crm"]
    assert crm["account"]["id"] == account["id"] and crm["account"]["method"] == "fuzzy_name"
    assert crm["account"]["score"] >= 92

    # A different company that shares the first word must not match.
    crm = _lead(probe, email="al@gmail.com", company=f"{word} Mining")["crm"]
    assert crm["account"] is None

    # An existing contact is a duplicate, with its owner.
    crm = _lead(probe, email=f"Known.Person@{primary}")["crm"]
    assert crm["is_duplicate"] is True and crm["person"]["owner_id"] == "owner-03"

    # A domain change, a rename and an owner change keep the mirror exact.
    moved = account | {"domains": [primary]}
    _publish(producer, probe, "account", *crm_events.encode("account", moved))
    producer.flush(10)
    _wait_until(lambda: not mirror.candidates(MatchQuery(domain=alternate)).accounts_by_domain)
    renamed = moved | {"name": f"Qwerty{run} Holdings", "owner_id": "owner-09"}
    _publish(producer, probe, "account", *crm_events.encode("account", renamed))
    producer.flush(10)
    old_word, new_word = word.lower(), f"qwerty{run}"

    def by_name(token: str) -> list[str]:
        return [a["id"] for a in mirror.candidates(MatchQuery(name_tokens=(token,))).accounts_by_name]

    _wait_until(lambda: by_name(new_word) == [account["id"]])
    assert account["id"] not in by_name(old_word)  # no stale name index entry
    owners = [a["owner_id"] for a in mirror.candidates(MatchQuery(domain=primary)).accounts_by_domain]
    assert owners == ["owner-09"]
    crm = _lead(probe, email=f"pat@{primary}")["crm"]
    assert crm["account"]["owner_id"] == "owner-09" and crm["account"]["name"] == renamed["name"]
    _publish(producer, probe, "account", *crm_events.tombstone("account", account["id"]))
    producer.flush(10)
    _wait_until(lambda: not mirror.candidates(MatchQuery(domain=primary)).accounts_by_domain)
    crm = _lead(probe, email=f"sam@{primary}")["crm"]
    assert crm["account"] is None


def test_an_unreadable_crm_event_is_dead_lettered_by_crm_sync(probe: PipelineProbe) -> None:
    producer = Producer({"bootstrap.servers": probe.settings.kafka_bootstrap, "linger.ms": 1})
    where: list[tuple[int, int]] = []
    producer.produce(
        probe.topic(topics.CRM_ACCOUNTS),
        key=b"acc-broken",
        value=b"\x00not avro at all",
        on_delivery=lambda err, msg: where.append((msg.partition(), msg.offset())) if err is None else None,
    )
    producer.flush(10)

    def dead() -> list[dict[str, Any]]:
        return [
            r for _, r in probe.outcomes.dead
            if r["stage"] == "crm-sync" and (r["partition"], r["offset"]) == where[0]
        ]  # fmt: skip

    probe.wait_for(dead, timeout=60)
    assert dead()[0]["topic"] == probe.topic(topics.CRM_ACCOUNTS)
