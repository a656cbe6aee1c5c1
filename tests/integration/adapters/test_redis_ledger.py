"""The Redis ledger: the in-memory ledger's scenarios on real Redis, plus scale, races and idempotency."""

from __future__ import annotations

import multiprocessing
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processors.routing.ledger import AssignRequest, Attempt, Candidate
from processors.routing.memory_ledger import InMemoryLedger
from streams.adapters import redis_ledger as redis_ledger_module
from streams.adapters.redis_cleanup import forget_prefix
from streams.adapters.redis_ledger import RedisAssignmentLedger
from tests.unit.processors.routing.test_ledger_memory import QUEUE, SCENARIOS, cand, pool, request

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"lr-test-ledger-{uuid.uuid4().hex[:8]}"
    yield name
    forget_prefix(redis.Redis.from_url(redis_url), name)


@pytest.fixture
def redis_ledger(client: redis.Redis, prefix: str) -> RedisAssignmentLedger:
    return RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=600)


@pytest.fixture(params=["memory", "redis"])
def ledger(request: pytest.FixtureRequest, redis_ledger: RedisAssignmentLedger) -> Any:
    return InMemoryLedger() if request.param == "memory" else redis_ledger


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_conformance(ledger: Any, name: str) -> None:
    SCENARIOS[name](ledger, f"{name[:6]}-")


def _random_request(rng: random.Random, n: int, owners: list[str]) -> AssignRequest:
    reasons = ["status away", "offline", "missing skill german", "out of office until x", "unknown owner"]
    attempts = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["pool", "pool", "owner", "queue"])
        if kind == "queue":
            attempts.append(QUEUE)
            continue
        members = rng.sample(owners, rng.randint(1, 5)) if kind == "pool" else [rng.choice(owners)]
        candidates = tuple(
            Candidate(
                o,
                weight=rng.choice([1.0, 2.0, 0.5, 3.0, 1 / 3]),
                skip=rng.choice([*reasons, *[None] * 8]),
                cap_hour=rng.choice([None, None, 3, 5]),
                cap_day=rng.choice([None, None, 8]),
                hour_bucket=f"h{n // 20}",
                day_bucket=f"d{n // 60}",
                week_bucket=f"w{n // 400}",
                open_load=rng.choice([0, 2, 5]),
            )
            for o in members
        )
        attempts.append(
            Attempt(
                kind,
                rng.choice(["p1", "p2"]) if kind == "pool" else "account owner",
                candidates,
                strategy=rng.choice(["round_robin", "weighted", "load_balanced"]) if kind == "pool" else None,
                balance_by=rng.choice(["assignments_today", "open_load"]),
            )
        )
    return AssignRequest(
        f"lead{n if rng.random() > 0.1 else rng.randint(0, n)}",  # ~10% replays
        tuple(attempts),
        now_ms=1_000 + n,
        meta=f'{{"n":{n}}}',
        sticky_key=rng.choice([None, "acme.com", "b.com"]),
        sticky_ttl_s=rng.choice([0, 3600]),
        returning_owner_credit=rng.choice([0, 0, 2]),
    )


def test_random_requests_decide_identically_in_memory_and_in_redis(
    redis_ledger: RedisAssignmentLedger,
) -> None:
    rng = random.Random(20261125)
    owners = [f"o{i}" for i in range(6)]
    memory = InMemoryLedger()
    requests = [_random_request(rng, n, owners) for n in range(3000)]
    for start in range(0, len(requests), 250):
        batch = requests[start : start + 250]
        assert redis_ledger.assign_many(batch) == memory.assign_many(batch)
    buckets = [(o, f"d{2999 // 60}", f"w{2999 // 400}") for o in owners]
    assert redis_ledger.fairness(buckets, 1_000) == memory.fairness(buckets, 1_000)


def test_seven_equal_owners_share_ten_thousand_leads_within_one(redis_ledger: RedisAssignmentLedger) -> None:
    members = [cand(f"eq-{i}") for i in range(7)]
    counts: Counter[str | None] = Counter()
    for _ in range(20):
        results = redis_ledger.assign_many([request(pool("eq", members)) for _ in range(500)])
        counts.update(r.owner_id for r in results)
    mean = 10_000 / 7
    assert sum(counts.values()) == 10_000 and all(abs(n - mean) <= 1 for n in counts.values()), counts


def test_weights_one_two_three_get_their_shares(redis_ledger: RedisAssignmentLedger) -> None:
    members = [cand("w-1", weight=1.0), cand("w-2", weight=2.0), cand("w-3", weight=3.0)]
    counts: Counter[str | None] = Counter()
    for _ in range(12):
        batch = [request(pool("w", members, "weighted")) for _ in range(500)]
        counts.update(r.owner_id for r in redis_ledger.assign_many(batch))
    total = sum(counts.values())
    for owner, share in (("w-1", 1 / 6), ("w-2", 2 / 6), ("w-3", 3 / 6)):
        assert abs(counts[owner] / total - share) < 0.01, counts


def test_replaying_lead_ids_moves_no_counter(
    redis_ledger: RedisAssignmentLedger, client: redis.Redis, prefix: str
) -> None:
    members = [cand("r-a"), cand("r-b"), cand("r-c")]
    batch = [request(pool("r", members), lead_id=f"replay-{i}") for i in range(30)]
    first = redis_ledger.assign_many(batch)
    state = {key: client.dump(key) for key in client.scan_iter(f"{prefix}:*") if b":d:" not in key}
    again = redis_ledger.assign_many(batch)
    assert all(r.replayed for r in again) and [r.owner_id for r in again] == [r.owner_id for r in first]
    assert {key: client.dump(key) for key in client.scan_iter(f"{prefix}:*") if b":d:" not in key} == state


def test_decisions_expire_after_their_ttl(client: redis.Redis, prefix: str) -> None:
    ledger = RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=120)
    ledger.assign_many([request(pool("ttl", [cand("t-a")]), lead_id="ttl-1")])
    assert 0 < client.ttl(f"{prefix}:{{assign}}:d:ttl-1") <= 120


def test_noscript_loads_the_script_and_resends(
    client: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A script text Redis has never seen stands in for a restarted Redis (no SCRIPT FLUSH on a shared server).
    monkeypatch.setattr(
        redis_ledger_module, "ASSIGN", redis_ledger_module.ASSIGN + f"\n-- {uuid.uuid4().hex}\n"
    )
    ledger = RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=600)
    assert client.script_exists(ledger._script.sha) == [False]
    results = ledger.assign_many([request(pool("ns", [cand("n-a"), cand("n-b")])) for _ in range(4)])
    assert sorted(r.owner_id or "" for r in results) == ["n-a", "n-a", "n-b", "n-b"]


def _race(redis_url: str, prefix: str, worker: int, leads: int, out: Any) -> None:
    client = redis.Redis.from_url(redis_url)
    ledger = RedisAssignmentLedger(client, prefix=prefix, decision_ttl_s=600)
    members = [cand("cap-a", cap_hour=25), cand("cap-b"), cand("cap-c")]
    placed: Counter[str] = Counter()
    for start in range(0, leads, 50):
        batch = [
            request(pool("race", members), QUEUE, lead_id=f"race-{worker}-{i}")
            for i in range(start, start + 50)
        ]
        placed.update(r.owner_id or "queue" for r in ledger.assign_many(batch))
    out.put(dict(placed))


def test_a_capped_owner_never_exceeds_the_cap_with_four_racing_processes(redis_url: str, prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_race, args=(redis_url, prefix, w, 300, out)) for w in range(4)]
    for process in workers:
        process.start()
    totals: Counter[str] = Counter()
    for _ in workers:
        totals.update(out.get(timeout=120))
    for process in workers:
        process.join(30)
    assert totals["cap-a"] == 25 and sum(totals.values()) == 1200, totals
