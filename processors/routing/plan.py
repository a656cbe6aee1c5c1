"""What the rule engine decides for one lead, before anyone's availability is known.

The engine (``processors/rules``) is pure and stateless: it reads the lead and
returns a :class:`RoutePlan`, an ordered list of actions (the route's own action,
then its fallback chain) plus the trace of every route it tried. Turning the plan
into one owner is the assignment ledger's job (``processors/routing/ledger.py``),
because that needs shared state: cursors, caps and who is available right now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Strategy = Literal["round_robin", "weighted", "load_balanced"]
BalanceBy = Literal["assignments_today", "open_load"]
OwnerSource = Literal["owner", "account_owner", "existing_owner", "first_lead_owner", "owner_from"]


@dataclass(frozen=True, slots=True)
class PoolMember:
    owner_id: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class OwnerAction:
    """One named person: a fixed owner, the matched account's owner or the existing lead's owner.

    ``owner_id`` is ``None`` when the lead has no such owner (no matched account,
    say); the action then fails and the next one in the chain is tried.
    ``owner_from`` actions carry the lead's field (``field``) and, until the
    assign step looks it up in the owner directory, the text found there.
    """

    source: OwnerSource
    owner_id: str | None
    line: int | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class PoolAction:
    pool: str
    strategy: Strategy
    members: tuple[PoolMember, ...]
    balance_by: BalanceBy = "assignments_today"
    #: Skills every chosen member must have (from the rule), and lead values one of
    #: which the member must have (from ``skill_from``, resolved on the lead).
    require_skills: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class QueueAction:
    """A queue always accepts: it ends every fallback chain that reaches it."""

    queue: str
    line: int | None = None


Action = OwnerAction | PoolAction | QueueAction


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    """One leaf condition as evaluated: what it asked, what the lead had, the outcome."""

    description: str  # e.g. "segment.size_band in [enterprise, strategic]"
    seen: Any  # the value found at the field path (None when missing)
    matched: bool
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RouteTrace:
    """One route (or group) the engine looked at, in the order it looked."""

    route: str  # full name, groups joined by " / "
    matched: bool
    conditions: tuple[ConditionTrace, ...] = ()
    line: int | None = None
    #: A group of routes (entered when ``matched``; its routes follow in the trace).
    group: bool = False


@dataclass(frozen=True, slots=True)
class RoutePlan:
    rules_version: str  # content hash of the rule file, e.g. "rules@1a2b3c4d5e6f"
    route: str | None  # the route that matched, None when nothing did (defaults applied)
    channel: str
    actions: tuple[Action, ...]  # primary action first, then the fallback chain, in order
    trace: tuple[RouteTrace, ...]
    territories: tuple[str, ...] = ()  # every territory the lead falls in, in file order
    segments: tuple[str, ...] = ()  # every named segment the lead matches, in file order
    #: New-logo stickiness: the company domain (no CRM account) and how long the
    #: owner it first got keeps getting its leads. ``None`` when not applicable.
    sticky_key: str | None = None
    sticky_window_s: int = 0
    #: Bounded catch-up for owners returning from absence (0 = no catch-up surge).
    returning_owner_credit: int = 0
    notes: tuple[str, ...] = field(default=())
