"""The owner directory in Redis: owner-sync writes it, every assign worker reads it.

Layout (``O`` is ``<prefix>:{owners}:``; one hash tag so an upsert and its
version bump are one MULTI on Redis Cluster too)::

    O all   hash    owner id → the owner's record as JSON (processors.owners.models.owner_to_record)
    O v     string  a counter bumped by every change

Readers keep the whole directory in process (a few thousand owners are a
few hundred kilobytes) and look at the version at most every ``refresh_s``
(one GET); only a changed version reloads the hash. So a status change, an
out-of-office range or a new cap reaches every assign worker within about
``refresh_s`` plus owner-sync's lag, without a read per lead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import redis

from processors.owners.models import Owner, owner_from_record, owner_to_record
from streams.outages import redis_outage

log = logging.getLogger(__name__)

#: What an outage names (streams.outages).
_WHAT = "the owner directory in Redis"


class RedisOwnerDirectory:
    """Owners by id, cached in process and refreshed cheaply; also the writer owner-sync uses."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        refresh_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._all = f"{prefix}:{{owners}}:all"
        self._version_key = f"{prefix}:{{owners}}:v"
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._owners: dict[str, Owner] = {}
        self._version: bytes | None = None
        self._checked_at: float | None = None

    # --- read side (assign workers, the CLI) ---

    def owners(self) -> dict[str, Owner]:
        """Every owner; reloads only when the version moved, checked at most every ``refresh_s``."""
        now = self._monotonic()
        if self._checked_at is not None and now - self._checked_at < self._refresh_s:
            return self._owners
        with redis_outage(_WHAT):
            version = self._client.get(self._version_key)
            if self._checked_at is None or version != self._version:
                pipe = self._client.pipeline(transaction=True)
                pipe.get(self._version_key)
                pipe.hgetall(self._all)
                version, stored = pipe.execute()
                self._owners = self._decode(stored)
                self._version = version
        self._checked_at = now
        return self._owners

    def get(self, owner_id: str) -> Owner | None:
        return self.owners().get(owner_id)

    def fresh(self) -> dict[str, Owner]:
        """Every owner as Redis holds it now (no cache), for the CLI's read-modify-publish."""
        self._checked_at = None
        return self.owners()

    @staticmethod
    def _decode(stored: dict[bytes, bytes]) -> dict[str, Owner]:
        owners: dict[str, Owner] = {}
        for key, value in stored.items():
            try:
                owner = owner_from_record(json.loads(value))
            except (ValueError, KeyError, TypeError) as error:
                # owner-sync validated it; a bad entry means another writer, so skip it loudly
                log.warning(
                    "owner %r in Redis is unusable and ignored: %s", key.decode("utf-8", "replace"), error
                )
                continue
            owners[owner.id] = owner
        return owners

    # --- write side (owner-sync) ---

    def upsert(self, owner: Owner) -> None:
        payload = json.dumps(owner_to_record(owner), separators=(",", ":"), ensure_ascii=False)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(self._all, owner.id, payload)
        pipe.incr(self._version_key)
        self._execute(pipe)

    def delete(self, owner_id: str) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.hdel(self._all, owner_id)
        pipe.incr(self._version_key)
        self._execute(pipe)

    def count(self) -> int:
        with redis_outage(_WHAT):
            return int(self._client.hlen(self._all))

    @staticmethod
    def _execute(pipe: redis.client.Pipeline) -> None:
        with redis_outage(_WHAT):
            pipe.execute()
