"""The firmographics cache and the shared rate limit against a real Redis.

Redis is the suite's (the `client` fixture in conftest.py); every
key lives under a prefix unique to the test and is deleted afterwards.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processors.enrichment.models import FirmographicsRecord, Lookup
from streams import metrics
from streams.adapters.http_firmographics import HttpFirmographicsProvider, HttpProviderConfig
from streams.adapters.redis_cleanup import forget_prefix
from streams.adapters.redis_firmographics_cache import RedisFirmographicsCache
from tests.unit.streams.adapters.test_http_firmographics import ACME, FIELD_MAP, ScriptedServer, answer

pytestmark = pytest.mark.integration


RECORD = FirmographicsRecord(
    domain="acme.com",
    company_name="Acmé Inc",
    employees=1200,
    annual_revenue=25_000_000.5,
    industry="Software",
    hq_country_code="US",
)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"leadroute-test-{uuid.uuid4().hex[:8]}"
    yield name
    forget_prefix(redis.Redis.from_url(redis_url), name)


@pytest.fixture
def cache(client: redis.Redis, prefix: str) -> RedisFirmographicsCache:
    return RedisFirmographicsCache(client, prefix=prefix, ttl_s=3600, negative_ttl_s=60)


@pytest.fixture
def provider_name() -> str:
    return f"p{uuid.uuid4().hex[:8]}"


def cache_count(provider: str, result: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "leadroute_firmographics_cache_total", {"provider": provider, "result": result}
    )
    return value or 0.0


def test_a_found_record_comes_back_marked_cached(
    cache: RedisFirmographicsCache, client: redis.Redis, prefix: str, provider_name: str
) -> None:
    cache.put(provider_name, "acme.com", Lookup("found", record=RECORD))

    assert cache.get(provider_name, "acme.com") == Lookup("found", record=RECORD, cached=True)
    assert cache_count(provider_name, "hit") == 1
    stored = client.get(f"{prefix}:firmo:{provider_name}:acme.com")
    assert stored is not None and b", " not in stored and b": " not in stored  # compact JSON
    assert json.loads(stored)["outcome"] == "found"


def test_not_found_is_remembered_too(cache: RedisFirmographicsCache, provider_name: str) -> None:
    cache.put(provider_name, "nobody.io", Lookup("not_found", detail="no mapped field in the response"))

    assert cache.get(provider_name, "nobody.io") == Lookup("not_found", cached=True)
    assert cache_count(provider_name, "negative_hit") == 1


def test_a_miss_is_none(cache: RedisFirmographicsCache, provider_name: str) -> None:
    assert cache.get(provider_name, "unknown.io") is None
    assert cache_count(provider_name, "miss") == 1


def test_not_found_expires_sooner_than_found(
    cache: RedisFirmographicsCache, client: redis.Redis, provider_name: str
) -> None:
    cache.put(provider_name, "acme.com", Lookup("found", record=RECORD))
    cache.put(provider_name, "nobody.io", Lookup("not_found"))

    found_ms = client.pttl(cache.key(provider_name, "acme.com"))
    missing_ms = client.pttl(cache.key(provider_name, "nobody.io"))

    assert 3_500_000 < found_ms <= 3_600_000
    assert 0 < missing_ms <= 60_000


@pytest.mark.parametrize("outcome", ["unavailable", "rate_limited", "circuit_open"])
def test_outcomes_that_are_not_answers_are_never_stored(
    cache: RedisFirmographicsCache, client: redis.Redis, provider_name: str, outcome: Any
) -> None:
    cache.put(provider_name, "acme.com", Lookup(outcome, detail="could not ask"))

    assert client.exists(cache.key(provider_name, "acme.com")) == 0
    assert cache.get(provider_name, "acme.com") is None


def test_providers_do_not_share_answers(cache: RedisFirmographicsCache, provider_name: str) -> None:
    cache.put(provider_name, "acme.com", Lookup("found", record=RECORD))
    assert cache.get(f"{provider_name}-other", "acme.com") is None


def test_an_unreadable_entry_is_a_miss(
    cache: RedisFirmographicsCache, client: redis.Redis, provider_name: str
) -> None:
    client.set(cache.key(provider_name, "acme.com"), b"\xff not json")
    client.set(cache.key(provider_name, "old.io"), json.dumps({"v": 0, "outcome": "found"}))

    assert cache.get(provider_name, "acme.com") is None
    assert cache.get(provider_name, "old.io") is None
    assert cache_count(provider_name, "error") == 2


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends."""

    calls = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.calls += 1
        return super().execute_command(*args, **options)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_redis_outage_is_a_miss_and_never_raises(provider_name: str) -> None:
    down = redis.Redis.from_url(
        f"redis://127.0.0.1:{_closed_port()}/15", socket_timeout=0.2, socket_connect_timeout=0.2
    )
    cache = RedisFirmographicsCache(down, prefix="leadroute-test-down")

    started = time.monotonic()
    assert cache.get(provider_name, "acme.com") is None
    cache.put(provider_name, "acme.com", Lookup("found", record=RECORD))

    assert time.monotonic() - started < 1.0
    assert cache_count(provider_name, "error") == 2
    assert cache_count(provider_name, "miss") == 0
    down.close()


def test_after_an_error_redis_is_left_alone_for_a_while(provider_name: str) -> None:
    down = CountingRedis.from_url(
        f"redis://127.0.0.1:{_closed_port()}/15", socket_timeout=0.2, socket_connect_timeout=0.2
    )
    cache = RedisFirmographicsCache(down, prefix="leadroute-test-down", error_backoff_s=0.3)

    cache.get(provider_name, "a.io")
    assert down.calls == 1
    cache.get(provider_name, "b.io")
    cache.put(provider_name, "b.io", Lookup("not_found"))
    assert down.calls == 1
    time.sleep(0.35)
    cache.get(provider_name, "c.io")

    assert down.calls == 2
    assert cache_count(provider_name, "error") == 4
    down.close()


def test_forget_prefix_removes_only_this_prefixs_entries(
    cache: RedisFirmographicsCache, client: redis.Redis, prefix: str, provider_name: str
) -> None:
    for domain in ("a.io", "b.io", "c.io"):
        cache.put(provider_name, domain, Lookup("not_found"))
    client.set(f"{prefix}:other", "kept")
    other = RedisFirmographicsCache(client, prefix=f"{prefix}x")
    other.put(provider_name, "a.io", Lookup("not_found"))

    assert cache.forget_prefix() == 3

    assert cache.get(provider_name, "a.io") is None
    assert client.get(f"{prefix}:other") == b"kept"
    assert other.get(provider_name, "a.io") == Lookup("not_found", cached=True)
    assert other.forget_prefix() == 1


# --- the rate limit shared by every enrich worker -----------------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def _worker(server: ScriptedServer, name: str, prefix: str, storage: str) -> HttpFirmographicsProvider:
    return HttpFirmographicsProvider(
        HttpProviderConfig(
            name=name,
            url_template=server.url_template,
            field_map=FIELD_MAP,
            timeout_s=0.2,
            rate_limit_per_s=3,
            rate_limit_storage=storage,
            rate_limit_key_prefix=prefix,
        )
    )


def test_workers_share_one_rate_limit_through_redis(
    server: ScriptedServer, client: redis.Redis, prefix: str, provider_name: str, redis_url: str
) -> None:
    server.script("acme.com", answer(ACME))
    first = _worker(server, provider_name, prefix, redis_url)
    second = _worker(server, provider_name, prefix, redis_url)
    try:
        from_first = [first.lookup("acme.com").outcome for _ in range(3)]
        from_second = second.lookup("acme.com").outcome
    finally:
        first.close()
        second.close()

    assert from_first == ["found"] * 3
    assert from_second == "rate_limited"  # the first worker used the shared allowance
    assert server.hits["acme.com"] == 3
    assert list(client.scan_iter(match=f"{prefix}:ratelimit:*")) != []


def test_in_memory_limits_are_per_worker(server: ScriptedServer, prefix: str, provider_name: str) -> None:
    server.script("acme.com", answer(ACME))
    first = _worker(server, provider_name, prefix, "memory://")
    second = _worker(server, provider_name, prefix, "memory://")
    try:
        from_first = [first.lookup("acme.com").outcome for _ in range(4)]
        from_second = second.lookup("acme.com").outcome
    finally:
        first.close()
        second.close()

    assert from_first == ["found"] * 3 + ["rate_limited"]
    assert from_second == "found"


def test_a_rate_limit_store_outage_fails_open(server: ScriptedServer, provider_name: str) -> None:
    server.script("acme.com", answer(ACME))
    down = f"redis://127.0.0.1:{_closed_port()}/15"
    worker = _worker(server, provider_name, "leadroute-test-down", down)
    try:
        outcomes = [worker.lookup("acme.com").outcome for _ in range(5)]
    finally:
        worker.close()

    assert outcomes == ["found"] * 5  # the API's own 429s still protect it
