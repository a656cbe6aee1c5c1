"""Every Redis adapter through clients built from settings, held to the in-memory answers.

The TLS and Redis Cluster tests run the same tour: whatever the connection (a
password, TLS, a cluster client), the ledger, owner directory, CRM mirror,
firmographics cache and shared rate limit must answer what they answer on a
plain Redis. Each piece keeps its keys under ``settings.redis_prefix``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from processors.crm.memory import InMemoryCrmMirror
from processors.enrichment.models import FirmographicsRecord, Lookup
from processors.routing.memory_ledger import InMemoryLedger
from streams import wiring
from streams.adapters.redis_cleanup import forget_prefix
from streams.adapters.redis_firmographics_cache import RedisFirmographicsCache
from streams.adapters.redis_ledger import RedisAssignmentLedger
from streams.bench.crm_memory import SyntheticCrm
from streams.redis_client import redis_client
from streams.settings import Settings
from tests.integration.adapters.test_redis_ledger import _random_request
from tests.support.builders import demo_owners
from tests.unit.processors.routing.test_ledger_memory import SCENARIOS

RECORD = FirmographicsRecord(
    domain="acme.com",
    company_name="Acmé Inc",
    employees=1200,
    annual_revenue=25_000_000.5,
    industry="Software",
    hq_country_code="US",
)


def ledger(settings: Settings) -> int:
    """The ledger's conformance scenarios and 1,500 random requests, pipelined in batches."""
    client = redis_client(settings)
    for index, (name, scenario) in enumerate(sorted(SCENARIOS.items())):
        scenario(
            RedisAssignmentLedger(client, prefix=f"{settings.redis_prefix}-s{index}", decision_ttl_s=600),
            f"{name[:6]}-",
        )
    stored = wiring.assignment_ledger(settings)
    memory = InMemoryLedger()
    rng = random.Random(20261207)
    owners = [f"o{i}" for i in range(6)]
    requests = [_random_request(rng, n, owners) for n in range(1_500)]
    for start in range(0, len(requests), 250):
        batch = requests[start : start + 250]
        assert stored.assign_many(batch) == memory.assign_many(batch), f"batch at {start}"
    buckets = [(o, f"d{1499 // 60}", f"w{1499 // 400}") for o in owners]
    assert stored.fairness(buckets, 1_000) == memory.fairness(buckets, 1_000)
    return len(SCENARIOS) + len(requests)


def owners(settings: Settings) -> int:
    directory = wiring.owner_directory(settings)
    team = demo_owners()
    for owner in team:
        directory.upsert(owner)
    assert directory.count() == len(team)
    assert directory.fresh() == {owner.id: owner for owner in team}
    directory.delete(team[0].id)
    assert set(directory.fresh()) == {owner.id for owner in team[1:]}
    return len(team)


def crm_mirror(settings: Settings, accounts: int = 150) -> int:
    crm = SyntheticCrm(accounts, seed=5)
    memory = InMemoryCrmMirror()
    stored = wiring.crm_mirror(settings)
    changes = []
    for kind, record_id, record in crm.records():
        memory.upsert(kind, record)
        changes.append((kind, record_id, record))
    stored.upsert_many(changes)
    queries = crm.queries(300)
    assert stored.candidates_many(queries) == memory.candidates_many(queries)
    assert stored.candidates(queries[0]) == memory.candidates(queries[0])
    assert stored.sizes()["account"] == accounts
    return len(queries)


def firmographics(settings: Settings, url_template: str) -> int:
    """The cache, and the rate limit two enrich workers share, both built as the enrich stage builds them."""
    from streams.wiring import build_enricher_for, http_provider

    cache = RedisFirmographicsCache(redis_client(settings), prefix=settings.redis_prefix, ttl_s=600)
    cache.put("tour", "acme.com", Lookup("found", RECORD))
    cache.put("tour", "nobody.io", Lookup("not_found"))
    assert cache.get("tour", "acme.com") == Lookup("found", RECORD, cached=True)
    assert cache.get("tour", "nobody.io") == Lookup("not_found", cached=True)
    assert cache.get("tour", "unknown.io") is None

    http = replace(
        settings,
        firmographics="http",
        firmographics_url=url_template,
        firmographics_fields=(
            "company_name=company.name,employees=metrics.employees,annual_revenue=metrics.annualRevenue,"
            "industry=category.industry,hq_country_code=geo.countryCode"
        ),
        # One request a minute: the second worker's first request finds the allowance used, however slow.
        firmographics_rate_limit=1 / 60,
        firmographics_timeout=2.0,
    ).validated()
    enricher: Any = build_enricher_for(http)
    first, second = enricher.firmographics, http_provider(http)
    try:
        found = [first.lookup("acme.com").outcome for _ in range(3)]
        assert found == ["found"] * 3, found  # one request, then two answers from the cache
        assert second.lookup("acme.com").outcome == "rate_limited"  # the first used the shared allowance
    finally:
        first._provider.close()
        second.close()
    return 6


def state_markers(settings: Settings) -> int:
    """The markers that tell a wiped Redis from a ready one: claim, extend, finish, in their slots."""
    from streams.adapters.redis_state_marker import KEYSPACES, StateStatus

    for keyspace in KEYSPACES:
        marker = wiring.state_marker(settings, keyspace)
        assert marker.status() is StateStatus.MISSING
        token = marker.claim(60)
        assert token is not None and marker.claim(60) is None
        assert marker.status() is StateStatus.REBUILDING
        assert marker.extend(token, 60) and marker.finish(token)
        assert marker.status() is StateStatus.READY
    return len(KEYSPACES)


def forget(settings: Settings) -> int:
    """Everything the tour wrote goes, through the settings-built client (all nodes of a cluster)."""
    client = redis_client(settings)
    removed = sum(
        forget_prefix(client, prefix)
        for prefix in {
            settings.redis_prefix,
            *(f"{settings.redis_prefix}-s{i}" for i in range(len(SCENARIOS))),
        }
    )
    assert not list(client.scan_iter(match=f"{settings.redis_prefix}*", count=1000))
    return removed
