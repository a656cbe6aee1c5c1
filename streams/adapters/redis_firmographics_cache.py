"""Provider answers cached in Redis, shared by every enrich worker.

A company's size and industry change slowly and provider calls cost money and
time, so a found record is kept for a week by default. "not_found" is kept
for a shorter while (a day): the provider may learn about the company soon.
Outcomes that mean "we could not ask" (unavailable, rate_limited,
circuit_open) are never stored.

The cache is an optimisation, never a dependency: a Redis outage makes every
``get`` a miss and every ``put`` a no-op, counted in
``leadroute_firmographics_cache{result="error"}`` and logged at most once a
minute, so leads keep flowing. After an error the cache is not asked again for
``error_backoff_s``: with Redis unreachable each call would otherwise cost a
connect timeout, twice per lead.

Give it a client with short socket timeouts. Note that in redis-py 8 a client
made with ``redis.Redis(host=..., port=...)`` retries a failed command ten
times with back-off by default (seconds per call on an outage), while one made
with ``redis.Redis.from_url`` does not retry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis

from processors.enrichment.models import ANSWERS, FirmographicsRecord, Lookup
from streams.metrics import FIRMOGRAPHICS_CACHE
from streams.outages import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

_VERSION = 1
_RECORD_FIELDS = ("company_name", "employees", "annual_revenue", "industry", "hq_country_code")
_ERRORS = OUTAGE_ERRORS  # an outage is a miss here: enrichment goes on without the cache
_WARN_INTERVAL_S = 60.0


class RedisFirmographicsCache:
    """A :class:`~processors.ports.FirmographicsCache` in Redis.

    Keys are ``{prefix}:firmo:{provider}:{domain}``; values compact JSON.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        ttl_s: int = 7 * 86_400,
        negative_ttl_s: int = 86_400,
        error_backoff_s: float = 5.0,
    ) -> None:
        if ttl_s <= 0 or negative_ttl_s <= 0:
            raise ValueError("Firmographics cache TTLs must be positive numbers of seconds.")
        self._client = client
        self._prefix = prefix
        self._ttl_s = int(ttl_s)
        self._negative_ttl_s = int(negative_ttl_s)
        self._error_backoff_s = error_backoff_s
        self._skip_until = 0.0
        self._warn_lock = threading.Lock()
        self._next_warning_at = 0.0
        self._held_warnings = 0

    def key(self, provider: str, domain: str) -> str:
        return f"{self._prefix}:firmo:{provider}:{domain.strip().lower()}"

    def get(self, provider: str, domain: str) -> Lookup | None:
        """The cached answer, or None on a miss (an outage or an unreadable entry counts as one)."""
        if not self._usable(provider):
            return None
        try:
            raw = self._client.get(self.key(provider, domain))
        except _ERRORS as error:
            self._error(provider, "read", error)
            return None
        if raw is None:
            FIRMOGRAPHICS_CACHE.labels(provider, "miss").inc()
            return None
        lookup = _decode(raw, domain.strip())
        if lookup is None:
            FIRMOGRAPHICS_CACHE.labels(provider, "error").inc()
            logger.debug(
                "unreadable firmographics cache entry for %s/%r; treated as a miss", provider, domain
            )
            return None
        FIRMOGRAPHICS_CACHE.labels(provider, "hit" if lookup.outcome == "found" else "negative_hit").inc()
        return lookup

    def put(self, provider: str, domain: str, lookup: Lookup) -> None:
        """Store an answer: "found" for ``ttl_s``, "not_found" for ``negative_ttl_s``; ignore the rest."""
        if lookup.outcome not in ANSWERS or (lookup.outcome == "found" and lookup.record is None):
            return
        entry: dict[str, Any] = {"v": _VERSION, "outcome": lookup.outcome}
        if lookup.outcome == "found" and lookup.record is not None:
            entry["record"] = {name: lookup.record.get(name) for name in _RECORD_FIELDS}
        ttl = self._ttl_s if lookup.outcome == "found" else self._negative_ttl_s
        payload = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        if not self._usable(provider):
            return
        try:
            self._client.set(self.key(provider, domain), payload, ex=ttl)
        except _ERRORS as error:
            self._error(provider, "write", error)

    def forget_prefix(self) -> int:
        """Delete this prefix's cache entries (tests and demo runs clean up after themselves)."""
        removed = 0
        batch: list[Any] = []
        for key in self._client.scan_iter(match=f"{self._prefix}:firmo:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += int(self._client.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(self._client.unlink(*batch))
        return removed

    def _usable(self, provider: str) -> bool:
        """False for a while after an error: the call is skipped and counted as an error."""
        if time.monotonic() < self._skip_until:
            FIRMOGRAPHICS_CACHE.labels(provider, "error").inc()
            return False
        return True

    def _error(self, provider: str, operation: str, error: Exception) -> None:
        FIRMOGRAPHICS_CACHE.labels(provider, "error").inc()
        self._skip_until = time.monotonic() + self._error_backoff_s
        with self._warn_lock:
            now = time.monotonic()
            if now < self._next_warning_at:
                self._held_warnings += 1
                return
            held, self._held_warnings, self._next_warning_at = self._held_warnings, 0, now + _WARN_INTERVAL_S
        logger.warning(
            "firmographics cache %s failed (%s); carrying on without the cache "
            "(%d more since the last warning)",
            operation,
            type(error).__name__,
            held,
        )


def _decode(raw: bytes | str, domain: str) -> Lookup | None:
    """The stored answer; None when the entry is not one this code wrote."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("v") != _VERSION:
        return None
    outcome = entry.get("outcome")
    if outcome == "not_found":
        return Lookup("not_found", cached=True)
    stored = entry.get("record")
    if outcome != "found" or not isinstance(stored, dict):
        return None
    record = FirmographicsRecord(
        domain=domain,
        company_name=stored.get("company_name"),
        employees=stored.get("employees"),
        annual_revenue=stored.get("annual_revenue"),
        industry=stored.get("industry"),
        hq_country_code=stored.get("hq_country_code"),
    )
    return Lookup("found", record=record, cached=True)
