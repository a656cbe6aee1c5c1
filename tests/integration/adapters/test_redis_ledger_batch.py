"""The Redis ledger decides a chunk of leads per script call: chunking must not change one decision.

Each test would fail if a chunk's shared reads and deferred writes leaked into the
semantics: leads are compared with the in-memory ledger lead by lead, in order.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processors.routing.memory_ledger import InMemoryLedger
from streams.adapters.redis_cleanup import forget_prefix
from streams.adapters.redis_ledger import RedisAssignmentLedger
from tests.integration.adapters.test_redis_ledger import _random_request
from tests.unit.processors.routing.test_ledger_memory import DAY, QUEUE, WEEK, cand, pool, request

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"lr-test-chunks-{uuid.uuid4().hex[:8]}"
    yield name
    forget_prefix(redis.Redis.from_url(redis_url), name)


def _ledger(client: Any, prefix: str, chunk_size: int) -> RedisAssignmentLedger:
    return RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=600, chunk_size=chunk_size)


@pytest.mark.parametrize("chunk_size", [1, 7, 100])
def test_batches_larger_than_a_chunk_decide_as_the_in_memory_ledger(
    client: redis.Redis, prefix: str, chunk_size: int
) -> None:
    rng = random.Random(20261126)
    owners = [f"o{i}" for i in range(6)]
    requests = [_random_request(rng, n, owners) for n in range(1500)]
    ledger, memory = _ledger(client, prefix, chunk_size), InMemoryLedger()
    for start in range(0, len(requests), 250):
        batch = requests[start : start + 250]
        assert ledger.assign_many(batch) == memory.assign_many(batch)
    buckets = [(o, f"d{1499 // 60}", f"w{1499 // 400}") for o in owners]
    assert ledger.fairness(buckets, 1_000) == memory.fairness(buckets, 1_000)


def test_a_lead_twice_in_one_chunk_is_a_replay_and_takes_no_turn(client: redis.Redis, prefix: str) -> None:
    members = [cand("twice-a"), cand("twice-b"), cand("twice-c")]
    first = request(pool("twice", members), lead_id="twice-1")
    again = request(pool("twice", members), lead_id="twice-1")  # same id, its own meta
    batch = [first, again, *(request(pool("twice", members)) for _ in range(2))]
    ledger = _ledger(client, prefix, 100)
    results = ledger.assign_many(batch)
    assert results == InMemoryLedger().assign_many(batch)
    assert results[1].replayed and (results[1].owner_id, results[1].meta) == (results[0].owner_id, first.meta)
    assert sorted(r.owner_id or "" for r in (results[0], *results[2:])) == ["twice-a", "twice-b", "twice-c"]
    rows = ledger.fairness([(results[0].owner_id or "", DAY, WEEK)], 1_000)
    assert (rows[0].assigned_today, rows[0].placed_today) == (1, 1)


def test_a_sticky_owner_set_early_in_a_chunk_keeps_the_later_leads(client: redis.Redis, prefix: str) -> None:
    members = [cand("st-a"), cand("st-b"), cand("st-c")]
    sticky = {"sticky_key": "st.example", "sticky_ttl_s": 3600}
    batch = [request(pool("st", members), **sticky) for _ in range(5)]
    results = _ledger(client, prefix, 100).assign_many(batch)
    assert results == InMemoryLedger().assign_many(batch)
    assert not results[0].sticky and all(r.sticky and r.owner_id == results[0].owner_id for r in results[1:])
    assert 3000 < client.ttl(f"{prefix}:{{assign}}:k:st.example") <= 3600


def test_caps_reached_mid_chunk_skip_the_owner_for_the_rest_of_it(client: redis.Redis, prefix: str) -> None:
    members = [cand("cap-a", cap_hour=2), cand("cap-b", cap_day=3)]
    batch = [request(pool("capmid", members), QUEUE) for _ in range(7)]
    results = _ledger(client, prefix, 100).assign_many(batch)
    assert results == InMemoryLedger().assign_many(batch)
    assert sorted(r.owner_id or "" for r in results) == ["", "", "cap-a", "cap-a", "cap-b", "cap-b", "cap-b"]
    assert results[-1].skips[-1].reason == "daily cap reached (3/3)"


def test_stored_values_keep_their_layout(client: redis.Redis, prefix: str) -> None:
    """What the per-lead script wrote for the same leads, so fairness() and existing state keep working."""
    members = [cand("lay-a", open_load=4), cand("lay-b", weight=2.0, cap_hour=1)]
    batch = [
        request(
            pool("lay", members, "weighted"),
            QUEUE,
            lead_id=f"lay-{i}",
            sticky_key="lay.example",
            sticky_ttl_s=60,
        )
        for i in range(3)
    ]
    results = _ledger(client, prefix, 100).assign_many(batch)
    assert [(r.owner_id, r.sticky) for r in results] == [("lay-b", False), ("lay-a", False), ("lay-a", True)]
    base = f"{prefix}:{{assign}}:"
    assert client.hgetall(base + "s") == {
        b"lay-a": b"2026-11-25T14|2|2026-11-25|2|2|2026-W48|2|2|4|2",
        b"lay-b": b"2026-11-25T14|1|2026-11-25|1|1|2026-W48|1|1|0|1",
    }
    assert client.hgetall(base + "p:lay") == {b"lay-a": b"3|1000|0||0", b"lay-b": b"1|-1000|0||0"}
    assert client.get(base + "q") == b"3"
    assert client.hgetall(base + "e:lay:0") == {
        b"lay-a\t1000000000\t2026-11-25\t2026-W48": b"2",
        b"lay-a\t333333333\t2026-11-25\t2026-W48\nlay-b\t666666667\t2026-11-25\t2026-W48": b"1",
    }
    assert 0 < client.ttl(base + "e:lay:0") <= 777600 and client.smembers(base + "pools") == {b"lay"}
    assert client.get(base + "k:lay.example") == b"lay-a"
    assert json.loads(client.get(base + "d:lay-2") or b"") == {
        "a": 0,
        "o": "lay-a",
        "s": [[0, "lay-b", "hourly cap reached (1/1)"]],
        "k": 1,
        "m": '{"lead":"lay-2"}',
    }


def test_a_decision_stored_by_the_per_lead_script_replays(client: redis.Redis, prefix: str) -> None:
    stored = '{"a":0,"s":{},"m":"{\\"lead\\":\\"old-1\\",\\"path\\":\\"a\\/b\\"}","o":"old-a","k":0}'
    client.set(f"{prefix}:{{assign}}:d:old-1", stored, ex=600)
    [result] = _ledger(client, prefix, 100).assign_many(
        [request(pool("old", [cand("old-b")]), lead_id="old-1")]
    )
    assert result.replayed and result.owner_id == "old-a" and result.meta == '{"lead":"old-1","path":"a/b"}'


class _Pipeline:
    """Counts the chunks sent; chosen chunks of the first round name a script Redis never saw."""

    def __init__(self, owner: _Client, pipe: Any) -> None:
        self._owner, self._pipe, self._sent = owner, pipe, 0

    def evalsha(self, sha: str, *args: Any) -> None:
        if not self._owner.rounds and self._sent in self._owner.lost:
            sha = hashlib.sha1(uuid.uuid4().bytes).hexdigest()  # a real NOSCRIPT reply from Redis
        self._sent += 1
        self._pipe.evalsha(sha, *args)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        self._owner.rounds.append(self._sent)
        replies = self._pipe.execute(raise_on_error=raise_on_error)
        if self._owner.drop_first_reply and len(self._owner.rounds) == 1:
            raise redis.ConnectionError("connection reset while reading the reply")
        return replies


class _Client:
    """The real client, with a pipeline that can lose scripts or the reply of a round trip."""

    def __init__(self, client: redis.Redis, lost: set[int], drop_first_reply: bool = False) -> None:
        self._client, self.lost, self.drop_first_reply = client, lost, drop_first_reply
        self.rounds: list[int] = []

    def pipeline(self, transaction: bool = False) -> _Pipeline:
        return _Pipeline(self, self._client.pipeline(transaction=transaction))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _rotation(n: int, name: str = "ns") -> list[Any]:
    members = [cand(f"{name}-a"), cand(f"{name}-b", cap_hour=9), cand(f"{name}-c")]
    return [request(pool(name, members), QUEUE, lead_id=f"{name}-{i}") for i in range(n)]


def test_noscript_mid_batch_resends_only_the_chunks_that_hit_it(client: redis.Redis, prefix: str) -> None:
    # As a Redis that lost its scripts while the pipeline ran: the last three chunks of five hit NOSCRIPT.
    flushed = _Client(client, lost={2, 3, 4})
    ledger = _ledger(flushed, prefix, 10)
    ledger._load_script()
    batch = _rotation(50)
    results = ledger.assign_many(batch)
    assert flushed.rounds == [5, 3]
    assert results == InMemoryLedger().assign_many(batch)  # every lead decided once, in order


def test_noscript_on_a_middle_chunk_keeps_results_in_request_order(client: redis.Redis, prefix: str) -> None:
    flushed = _Client(client, lost={1})
    ledger = _ledger(flushed, prefix, 10)
    ledger._load_script()
    batch = _rotation(30, "mid")
    results = ledger.assign_many(batch)
    assert flushed.rounds == [3, 1]
    assert [r.meta for r in results] == [r.meta for r in batch] and not any(r.replayed for r in results)
    assert sorted(r.owner_id or "" for r in results) == sorted(
        r.owner_id or "" for r in InMemoryLedger().assign_many(batch)
    )


def test_a_lost_reply_is_retried_and_the_decided_leads_come_back_as_replays(
    client: redis.Redis, prefix: str
) -> None:
    lossy = _Client(client, lost=set(), drop_first_reply=True)
    ledger = _ledger(lossy, prefix, 10)
    batch = _rotation(25, "lost")
    results = ledger.assign_many(batch)
    assert lossy.rounds == [3, 3] and all(r.replayed for r in results)
    memory = InMemoryLedger()
    assert [r.owner_id for r in results] == [r.owner_id for r in memory.assign_many(batch)]
    owners = [(f"lost-{x}", DAY, WEEK) for x in "abc"]
    counted = _ledger(client, prefix, 10).fairness(owners, 1_000)
    assert counted == memory.fairness(owners, 1_000)  # nothing counted twice


@pytest.mark.parametrize("size", [0, 1001])
def test_the_chunk_size_is_bounded(client: redis.Redis, size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        RedisAssignmentLedger(client, prefix="unused", decision_ttl_s=60, chunk_size=size)
