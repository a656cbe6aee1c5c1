"""The contract between the assign stage and the shared assignment state.

The assign processor turns a :class:`~processors.routing.plan.RoutePlan` into an
:class:`AssignRequest`: one :class:`Attempt` per action, each with its candidate
owners and whatever is already known against them in Python (status, out of
office, working hours, skills — see ``processors/owners/availability.py``). The
ledger then decides atomically across every assign worker, in one step per lead:

1. a lead id decided before returns the stored result with ``replayed=True`` and
   changes nothing (no counter, cursor or cap moves);
2. otherwise attempts are tried in order; within an attempt, candidates with a
   ``skip`` reason, or at their hour/day cap, are skipped and every skip is
   recorded with its reason; the first attempt that places the lead wins
   (a ``queue`` attempt always places it);
3. a sticky new-logo owner (``sticky_key``) is chosen first when they are an
   eligible candidate of a pool attempt; a pool placement sets the sticky owner
   for ``sticky_ttl_s``;
4. pool strategies: ``round_robin`` picks the least recently assigned eligible
   member (never-assigned members ordered by a hash of pool and owner, so no one
   wins by name or list position); ``weighted`` is smooth weighted round robin
   over eligible members; ``load_balanced`` picks the fewest assignments today
   (or the lowest open load), ties by least recently assigned;
5. caps count per owner in the owner's own hour and day buckets; the fairness
   ledger counts assigned today / this week and the expected share (the member's
   weight over the eligible members' total weight, for every pool placement);
6. duplicates (``processors/routing/duplicates.py``): a lead with ``identities``
   that was planned as first (``duplicate_of`` None) but shares one with a lead
   recorded since is not decided: the result's ``unplanned_duplicate`` names
   that lead, and the caller plans it again as its duplicate. A lead decided as
   first records itself (id, owner, time) against each identity not yet held,
   for ``identity_ttl_s``; a duplicate records nothing. A lead's own records
   never make it a duplicate of itself.

``InMemoryLedger`` (batch mode, simulation, tests) and the Redis ledger (Lua)
implement exactly these semantics; one conformance suite runs against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from processors.routing.duplicates import FirstLead

AttemptKind = Literal["owner", "pool", "queue"]


@dataclass(frozen=True, slots=True)
class Candidate:
    owner_id: str
    weight: float = 1.0
    skip: str | None = None  # a reason known before the ledger runs, e.g. "out of office until 2026-12-01"
    cap_hour: int | None = None
    cap_day: int | None = None
    hour_bucket: str = ""  # owner-local hour, e.g. "2026-11-25T14"
    day_bucket: str = ""  # owner-local day, e.g. "2026-11-25"
    week_bucket: str = ""  # owner-local ISO week, e.g. "2026-W48"
    open_load: int = 0  # open leads the CRM last reported, for balance_by=open_load


@dataclass(frozen=True, slots=True)
class Attempt:
    kind: AttemptKind
    name: str  # pool name, queue name, or the owner action's label ("account owner")
    candidates: tuple[Candidate, ...] = ()
    strategy: str | None = None  # pools only
    balance_by: str | None = None  # load_balanced pools only


@dataclass(frozen=True, slots=True)
class AssignRequest:
    lead_id: str
    attempts: tuple[Attempt, ...]
    now_ms: int
    #: Opaque JSON the ledger stores with the result and hands back on a replay,
    #: so a replayed lead reproduces its first decision (channel, route, version).
    meta: str = "{}"
    sticky_key: str | None = None
    sticky_ttl_s: int = 0
    returning_owner_credit: int = 0
    #: ``kind:digest`` strings (``duplicates.identities``), strongest first; () = no duplicate check.
    identities: tuple[str, ...] = ()
    identity_ttl_s: int = 0
    #: The first lead this one was planned as a duplicate of, or None when planned as first.
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    attempt: int  # index into AssignRequest.attempts
    owner_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class AssignResult:
    replayed: bool
    attempt: int | None  # index of the attempt that placed the lead; None if none could
    owner_id: str | None  # None when a queue placed it (or nothing did)
    skips: tuple[Skip, ...]
    sticky: bool  # the sticky new-logo owner was chosen
    meta: str  # the meta stored with the first decision
    #: Set when the lead was not decided: it repeats this lead, recorded after it was planned.
    unplanned_duplicate: FirstLead | None = None


class AssignmentLedger(Protocol):
    """Decides a batch of leads; one atomic step per lead, in order."""

    def assign_many(self, requests: Sequence[AssignRequest]) -> list[AssignResult]: ...

    def first_leads(
        self, leads: Sequence[tuple[str, tuple[str, ...]]], now_ms: int
    ) -> list[FirstLead | None]:
        """Per (lead id, identities): the other lead recorded with the strongest identity held, if any."""
        ...
