"""Removing a run's keys: demo and test runs clean up everything under their prefix."""

from __future__ import annotations

import redis


def forget_prefix(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix:`` (demo and test runs clean up after themselves)."""
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
