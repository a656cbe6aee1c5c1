"""The assignment store in Redis: one decision per lead id, shared by all assign workers.

The key of a lead's decision carries a hash tag (``{lead:<id>}``) so the script
runs unchanged on Redis Cluster.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from processors.errors import DependencyUnavailable
from processors.models import Assignment
from streams.settings import Settings

#: Store the decision unless one exists; return the existing one. Atomic, so two
#: workers racing on a replayed lead agree on a single decision.
REMEMBER_FIRST_DECISION = """
local existing = redis.call('GET', KEYS[1])
if existing then
  return existing
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return false
"""

_ATTEMPTS = 3


class RedisAssignmentStore:
    def __init__(self, client: redis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_seconds = ttl_seconds
        self._remember = client.register_script(REMEMBER_FIRST_DECISION)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisAssignmentStore:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix=settings.redis_prefix, ttl_seconds=settings.assignment_ttl_days * 86_400)

    def key(self, lead_id: str) -> str:
        return f"{self._prefix}:{{lead:{lead_id}}}:assignment"

    def remember(self, lead_id: str, decision: Assignment) -> Assignment | None:
        stored = {k: v for k, v in decision.items() if k != "lead"}
        payload = json.dumps(stored, separators=(",", ":"), ensure_ascii=False)
        existing = self._call(lead_id, payload)
        if existing is None:
            return None
        earlier: dict[str, Any] = json.loads(existing)
        return earlier  # type: ignore[return-value]

    def _call(self, lead_id: str, payload: str) -> bytes | None:
        """Run the script, retrying briefly; a longer outage stops the stage."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                result = self._remember(keys=[self.key(lead_id)], args=[payload, self._ttl_seconds])
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if attempt == _ATTEMPTS:
                    raise DependencyUnavailable(f"Redis is unreachable: {error}") from error
                time.sleep(0.2 * 2**attempt)
            else:
                return result or None
        return None


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
