"""Removing a run's keys: demo and test runs clean up everything under their prefix."""

from __future__ import annotations

from typing import Any

import redis

from streams.settings import Settings


def forget_prefix(redis_url: str | Settings, prefix: str) -> int:
    """Delete every key under ``prefix:`` (demo and test runs clean up after themselves).

    Given settings, it connects with their password, TLS and cluster choice;
    on a cluster the scan visits every primary and unlink splits keys by slot.
    """
    client: Any
    if isinstance(redis_url, Settings):
        from streams.redis_client import redis_client

        client = redis_client(redis_url, socket_timeout=None, socket_connect_timeout=None)
    else:
        client = redis.Redis.from_url(redis_url)
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            removed += client.unlink(*batch)
            batch.clear()
    if batch:
        removed += client.unlink(*batch)
    return removed
