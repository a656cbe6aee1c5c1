"""The state a processor needs, as small protocols that ``streams/`` implements."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from processors.crm.models import Candidates, MatchQuery, RecordKind
from processors.enrichment.models import Lookup
from processors.owners.models import Owner
from processors.routing.plan import RoutePlan


class Clock(Protocol):
    """Wall-clock time in epoch milliseconds; frozen in tests."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FrozenClock:
    """A clock that only moves when told to, for tests and simulations."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, ms: int) -> None:
        self._now_ms += ms


class FirmographicsProvider(Protocol):
    """Answers "what company is behind this registrable domain?".

    ``lookup`` never raises: an outage, a timeout or an open circuit is an
    outcome of the :class:`~processors.enrichment.models.Lookup`, so a lead is
    never blocked or dropped because a provider is down.
    """

    name: str

    def lookup(self, domain: str) -> Lookup: ...


class FirmographicsCache(Protocol):
    """Remembers provider answers ("found" and "not_found") for a while.

    ``get`` returns ``None`` on a miss and must not raise for a cache outage
    (treat it as a miss); ``put`` stores a found record for the positive TTL
    and a not-found answer for the (shorter) negative TTL.
    """

    def get(self, provider: str, domain: str) -> Lookup | None: ...

    def put(self, provider: str, domain: str, lookup: Lookup) -> None: ...


class CrmMirror(Protocol):
    """The read side of the CRM mirror, shaped for one round trip per lead.

    Semantics every implementation keeps (see ``processors/crm/memory.py``):
    people by email key, phone and name key; accounts by domain; accounts
    sharing at least one name token, ranked by tokens shared (ties by id),
    skipping tokens carried by more than ``max_posting`` accounts, at most
    ``max_candidates``; then, for every candidate, the related accounts
    (a person's account, an account's parent), contact counts and open
    opportunities.
    """

    def candidates(self, query: MatchQuery) -> Candidates: ...

    def candidates_many(self, queries: Sequence[MatchQuery]) -> list[Candidates]: ...


class CrmMirrorWriter(Protocol):
    """The write side, used by crm-sync: upserts keep every index exact; deletes remove them."""

    def upsert(self, kind: RecordKind, record: Any) -> None: ...

    def delete(self, kind: RecordKind, record_id: str) -> None: ...


class RoutingRules(Protocol):
    """A loaded rule set: ``processors.rules`` provides it."""

    @property
    def version(self) -> str: ...

    def plan(self, lead: Mapping[str, Any]) -> RoutePlan: ...


class OwnerDirectory(Protocol):
    """Who the owners are right now (owner-sync keeps them in Redis; a file in batch mode)."""

    def owners(self) -> Mapping[str, Owner]: ...
