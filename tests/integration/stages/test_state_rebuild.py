"""The pieces that bring Redis state back after a wipe, each on the real Redis and broker."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import redis

from processors.errors import DependencyUnavailable
from processors.owners.models import Owner
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from processors.routing.recount import Recount
from streams import topics, wiring
from streams.adapters.redis_ledger import RedisAssignmentLedger
from streams.adapters.redis_state_marker import StateMarker, StateStatus
from streams.cli.owners import OwnerPublisher
from streams.health import READINESS
from streams.recovery.rebuild import StateGate
from streams.settings import Settings
from streams.stages import owner_sync
from tests.integration.conftest import make_settings
from tests.support.builders import demo_owners, router, rules

ONE_OWNER_POOL = """
version: 1
defaults: {channel: sales, fallback: [{queue: triage}]}
pools:
  solo-pool: {strategy: round_robin, members: [solo]}
routes:
  - name: everyone
    assign: {pool: solo-pool}
"""

pytestmark = pytest.mark.integration


@pytest.fixture
def marker(client: redis.Redis) -> StateMarker:
    return StateMarker(client, prefix=f"leadroute-test-{uuid.uuid4().hex[:8]}", keyspace="owners")


def test_only_the_claimed_rebuild_may_mark_a_keyspace_ready(marker: StateMarker, client: redis.Redis) -> None:
    assert marker.status() is StateStatus.MISSING
    token = marker.claim(30)
    assert token is not None
    assert marker.claim(30) is None, "a second instance took a claim already held"
    assert marker.status() is StateStatus.REBUILDING
    assert marker.extend(token, 30)
    assert not marker.finish("rebuilding:someone-else")
    assert marker.finish(token)
    assert marker.status() is StateStatus.READY
    assert client.ttl(marker.key) == -1, "a ready marker must not expire"


def test_a_wipe_during_a_rebuild_is_noticed(marker: StateMarker, client: redis.Redis) -> None:
    token = marker.claim(30)
    assert token is not None
    client.delete(marker.key)  # Redis emptied again mid-rebuild
    assert not marker.extend(token, 30)
    assert not marker.finish(token)
    assert marker.status() is StateStatus.MISSING


def test_the_gate_holds_until_the_keyspace_is_ready(marker: StateMarker) -> None:
    gate = StateGate("assign", [marker], limit_s=10, poll_s=0.05)
    seen_while_waiting: list[dict[str, str]] = []

    def come_back() -> None:
        seen_while_waiting.append(READINESS.blockers())
        marker.mark_ready()

    threading.Timer(0.5, come_back).start()
    gate.wait_ready()
    assert seen_while_waiting, "the gate let a batch through before the owners were back"
    assert "owner directory" in seen_while_waiting[0].get("state:owners", ""), "/healthz did not say why"
    assert "state:owners" not in READINESS.blockers(), "still unready after the owners came back"


def test_the_gate_gives_up_with_a_sentence(marker: StateMarker) -> None:
    gate = StateGate("assign", [marker], limit_s=0.3, poll_s=0.05)
    with pytest.raises(DependencyUnavailable, match="owner directory was not back in Redis"):
        gate.wait_ready()


def test_a_decision_read_back_from_its_event_replays_with_the_same_owner(
    client: redis.Redis, redis_url: str
) -> None:
    prefix = f"leadroute-test-{uuid.uuid4().hex[:8]}"
    ledger = RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=86_400)
    clock = FrozenClock(1_796_000_000_000)
    routing = router(clock, ledger=ledger)
    raw: Any = {"lead_id": "rebuilt-1", "email": "ana.kowalski@example.de", "country": "DE", "source": "web"}
    first = route_raw_lead(raw, received_at_ms=clock.now_ms(), router=routing)
    assert not first["replayed"]
    for key in client.scan_iter(match=f"{prefix}:*"):  # Redis restarted empty
        client.delete(key)

    assert ledger.remember([first, first], clock.now_ms() + 60_000) == 1
    assert ledger.remember([first], clock.now_ms() + 60_000) == 0, "a stored decision was overwritten"
    again = route_raw_lead(raw, received_at_ms=clock.now_ms(), router=routing)
    assert again["replayed"]
    destination = (first["destination_type"], first["destination"])
    assert (again["destination_type"], again["destination"]) == destination
    assert again["decision_path"] == [*first["decision_path"], again["decision_path"][-1]]
    assert again["reason"] == first["reason"] and again["assignment_id"] == first["assignment_id"]

    stale = {**first, "lead_id": "rebuilt-2", "decided_at_ms": clock.now_ms() - 2 * 86_400_000}
    assert ledger.remember([stale], clock.now_ms()) == 0, "a decision older than the TTL came back"


def _route_new(routing: Any, clock: FrozenClock, name: str, count: int) -> list[Any]:
    return [
        route_raw_lead(
            {"lead_id": f"{name}-{i}", "email": f"{name}{i}@example.org"},  # type: ignore[arg-type]
            received_at_ms=clock.now_ms(),
            router=routing,
        )
        for i in range(count)
    ]


def test_recounted_counts_reach_the_ledger_and_caps_hold(client: redis.Redis) -> None:
    prefix = f"leadroute-test-{uuid.uuid4().hex[:8]}"
    ledger = RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=86_400)
    clock = FrozenClock(1_796_000_000_000)
    capped = Owner("solo", "Solo", cap_per_day=3)
    routing = router(clock, ledger=ledger, owners=[capped], rule_set=rules(ONE_OWNER_POOL))
    first = _route_new(routing, clock, "cap", 2)
    assert [a["destination"] for a in first] == ["solo", "solo"]
    for key in client.scan_iter(match=f"{prefix}:*"):  # Redis restarted empty
        client.delete(key)

    recount = Recount({"solo": capped}, clock.now_ms())
    for assignment in first:
        recount.add(assignment)
    assert ledger.restore_counts(recount.counts) == 1
    assert ledger.restore_counts(recount.counts) == 0, "live counts were overwritten"
    later = _route_new(routing, clock, "cap-new", 2)
    assert [a["destination"] for a in later] == ["solo", "triage"], (
        "the daily cap forgot the leads before the wipe"
    )


def test_owner_sync_rebuilds_the_directory_from_the_owners_topic(infra: Any) -> None:
    settings: Settings = make_settings(infra)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    team = demo_owners()[:4]
    publisher = OwnerPublisher(settings)
    for owner in team:
        publisher.publish(owner)
    publisher.delete(team[0].id)
    assert publisher.flush() == 0

    plan = owner_sync.state_plan(settings)
    plan.rebuilds[0].ensure()
    directory = wiring.owner_directory(settings)
    assert set(directory.fresh()) == {owner.id for owner in team[1:]}, "the tombstone or an upsert was missed"
    assert wiring.state_marker(settings, "owners").status() is StateStatus.READY

    # A second instance finds the keyspace ready and reads nothing back.
    owner_sync.state_plan(settings).rebuilds[0].ensure()


def test_a_mirror_written_under_an_older_index_layout_is_cleared_and_rebuilt(infra: Any) -> None:
    from confluent_kafka import Producer

    from processors.crm.indexing import INDEX_VERSION
    from processors.crm.models import MatchQuery
    from streams.events import crm as crm_events
    from streams.stages import crm_sync

    settings: Settings = make_settings(infra)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    account = {
        "id": "acc-layout", "name": "Quillfeather Instruments Ltd", "domains": ["quillfeather.example"],
        "website": None, "owner_id": "ana", "parent_id": None, "employees": 300, "industry": None,
        "country_code": "GB", "type": "customer", "tier": None, "last_activity_ms": None,
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    key, value, headers = crm_events.encode("account", account)
    producer.produce(
        topics.name(settings, topics.CRM_TOPICS["account"]), key=key, value=value, headers=headers
    )
    assert producer.flush(10) == 0

    # What an older release left: its own marker, ready, and a posting the new layout never writes.
    client = redis.Redis.from_url(settings.redis_url)
    base = f"{settings.redis_prefix}:{{crm}}:"
    client.set(base + "gen", "ready:older-release")
    client.set(base + "x:token:stale", "\nacc-gone\n")
    marker = wiring.state_marker(settings, "crm")
    assert marker.key == base + f"gen:{INDEX_VERSION}"
    assert marker.status() is StateStatus.MISSING, "an older layout's marker must not vouch for this one"

    crm_sync.state_plan(settings).rebuilds[0].ensure()
    assert marker.status() is StateStatus.READY
    assert not client.exists(base + "x:token:stale"), "the older layout's postings outlived the rebuild"
    found = wiring.crm_mirror(settings).candidates(MatchQuery(domain="quillfeather.example"))
    assert [a["id"] for a in found.accounts_by_domain] == ["acc-layout"]
