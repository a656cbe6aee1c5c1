"""The Redis side of leadroute on a real three-node Redis Cluster.

The key layout promises that every script touching several keys keeps them in
one hash slot (``{assign}``, ``{crm}``, ``{owners}`` hash tags), so the same code
runs on one Redis or a cluster. Here three cluster-enabled redis-servers of the
test's own (loopback ports, temporary directories) are joined with
``redis-cli --cluster create``, and with ``LEADROUTE_REDIS_CLUSTER=true`` every
adapter runs its tour (tests/support/adapter_tour.py) through a cluster client: the
ledger's Lua scripts, pipelined; the owner directory's transactions; the CRM
mirror's change and look-up scripts; the firmographics cache and the shared rate
limit. A CROSSSLOT error anywhere fails the test. Skipped, with the reason, where
redis-server or redis-cli is missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from streams import wiring
from streams.redis_client import redis_answers, redis_client
from streams.settings import Settings
from tests.support import adapter_tour
from tests.support.redis_servers import redis_cluster
from tests.unit.streams.adapters.test_http_firmographics import ACME, ScriptedServer, answer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as ports:
        yield ports


@pytest.fixture
def settings(cluster_ports: list[int]) -> Iterator[Settings]:
    configured = Settings.from_env(
        {
            "LEADROUTE_REDIS_URL": f"redis://127.0.0.1:{cluster_ports[0]}/0",
            "LEADROUTE_REDIS_CLUSTER": "true",
            "LEADROUTE_REDIS_PREFIX": f"leadroute-test-{uuid.uuid4().hex[:8]}",
        }
    )
    yield configured
    adapter_tour.forget(configured)


def _slots(settings: Settings) -> dict[str, set[int]]:
    """Hash slots of every key the tour wrote, by layout family ({assign}, {crm}, {owners}, …)."""
    client = redis_client(settings)
    families: dict[str, set[int]] = {}
    for key in client.scan_iter(match=f"{settings.redis_prefix}*", count=1000):
        text = key.decode()
        family = text[text.index("{") : text.index("}") + 1] if "{" in text else text.split(":")[1]
        families.setdefault(family, set()).add(client.keyslot(key))
    return families


def test_the_settings_make_a_cluster_client_that_sees_every_node(
    settings: Settings, cluster_ports: list[int]
) -> None:
    client = redis_client(settings)
    assert isinstance(client, RedisCluster)
    assert {node.port for node in client.get_primaries()} == set(cluster_ports)
    assert redis_answers(settings)


def test_the_cluster_refuses_keys_of_two_slots_in_one_script(
    settings: Settings, cluster_ports: list[int]
) -> None:
    """The check below means something: the cluster does refuse a script across slots."""
    client = redis_client(settings)
    spread = [f"{settings.redis_prefix}:x:{n}" for n in range(20)]
    assert len({client.keyslot(key) for key in spread}) > 1
    # Straight to a node, past the cluster client's own check: the server's answer is what counts.
    node = redis.Redis(host="127.0.0.1", port=cluster_ports[0])
    try:
        with pytest.raises(ResponseError, match=r"CROSSSLOT|hash to the same slot"):
            node.eval("return #KEYS", len(spread), *spread)
    finally:
        node.close()
    with pytest.raises(RedisClusterException, match=r"same key slot|same slot"):
        client.eval("return #KEYS", len(spread), *spread)


def test_every_adapter_runs_on_the_cluster_with_one_slot_per_layout_family(settings: Settings) -> None:
    server = ScriptedServer()
    server.script("acme.com", answer(ACME))
    checked: dict[str, Any] = {}
    try:
        checked["ledger"] = adapter_tour.ledger(settings)
        checked["owners"] = adapter_tour.owners(settings)
        checked["crm mirror"] = adapter_tour.crm_mirror(settings)
        checked["firmographics"] = adapter_tour.firmographics(settings, server.url_template)
        checked["state markers"] = adapter_tour.state_markers(settings)
        families = _slots(settings)
    finally:
        server.close()
    assert all(checked.values()), checked
    multi_key = {family: slots for family, slots in families.items() if family.startswith("{")}
    assert {"{assign}", "{crm}", "{owners}"} <= set(multi_key), families
    assert all(len(slots) == 1 for slots in multi_key.values()), multi_key
    # The families land on different nodes' slots: the cluster really is in play.
    assert len(set().union(*families.values())) > 1
    assert adapter_tour.forget(settings) > 0


def test_scripts_lost_by_every_node_are_loaded_again(settings: Settings, cluster_ports: list[int]) -> None:
    """A restarted cluster forgets its scripts: the ledger, the CRM writer and look-ups load them again."""
    from processors.routing.ledger import AssignRequest, Attempt, Candidate
    from streams.bench.crm_memory import SyntheticCrm

    ledger = wiring.assignment_ledger(settings)
    mirror = wiring.crm_mirror(settings)
    crm = SyntheticCrm(20, seed=9)
    records = [(kind, record_id, record) for kind, record_id, record in crm.records()]
    request = AssignRequest(
        "noscript-1", (Attempt("pool", "p", (Candidate("a"), Candidate("b")), strategy="round_robin"),), 1_000
    )
    for round_number in range(2):
        for port in cluster_ports:
            node = redis.Redis(host="127.0.0.1", port=port)
            try:
                node.script_flush()
            finally:
                node.close()
        mirror.upsert_many(records[round_number::2])
        assert mirror.candidates_many(crm.queries(10)), "look-ups answered"
        [result] = ledger.assign_many([request])
        assert result.owner_id in ("a", "b") and result.replayed == (round_number == 1)
