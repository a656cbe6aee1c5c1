"""Removing a run's keys: demo, benchmark and test runs clean up everything under their prefix."""

from __future__ import annotations

from typing import Any


def forget_prefix(client: Any, prefix: str) -> int:
    """Delete every key under ``prefix:`` and say how many went.

    On a cluster client the scan visits every primary and unlink splits keys by slot.
    """
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
