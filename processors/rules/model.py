"""The compiled rule set's parts: pools, actions, routes and groups.

Everything that does not depend on the lead is built once at load (pool actions,
queue actions, fixed owners), so planning a lead mostly reuses ready objects; only
``account_owner``, ``existing_owner``, ``owner_from`` and pools with ``skill_from``
read the lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from processors.routing.plan import (
    Action,
    BalanceBy,
    OwnerAction,
    PoolAction,
    PoolMember,
    Strategy,
)
from processors.rules import paths
from processors.rules.conditions import Condition
from processors.rules.paths import CRM_OWNER_PATHS, CrmOwnerSource


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    strategy: Strategy
    balance_by: BalanceBy
    members: tuple[PoolMember, ...]
    require_skills: tuple[str, ...]
    skill_from: str | None
    line: int | None
    #: Members given with an explicit ``weight`` (a weighted pool needs at least one).
    weighted_members: int = 0
    balance_by_given: bool = False


class LeadAction:
    """An action whose owner or skills come from the lead; resolved per lead."""

    __slots__ = ()
    key: tuple[str, ...]

    def resolve(self, lead: Mapping[str, Any]) -> Action:
        raise NotImplementedError


class CrmOwner(LeadAction):
    """``account_owner`` (crm.account.owner_id) or ``existing_owner`` (crm.person.owner_id)."""

    __slots__ = ("_read", "key", "line", "source")

    def __init__(self, source: CrmOwnerSource, line: int | None) -> None:
        self.source = source
        self.line = line
        self.key = (source,)
        self._read = paths.getter(CRM_OWNER_PATHS[source])

    def resolve(self, lead: Mapping[str, Any]) -> Action:
        owner = self._read(lead)
        owner_id = owner if isinstance(owner, str) and owner.strip() else None
        return OwnerAction(self.source, owner_id, self.line)


class OwnerFromField(LeadAction):
    """``owner_from: <field>``: the lead names its owner (a partner form naming its rep).

    The text is an owner id or e-mail; which owner it is, if any, is for the
    assign step to say against the owner directory of the moment.
    """

    __slots__ = ("_read", "field", "key", "line")

    def __init__(self, field: str, line: int | None) -> None:
        self.field = field
        self.line = line
        self.key = ("owner_from", field)
        self._read = paths.getter(field)

    def resolve(self, lead: Mapping[str, Any]) -> Action:
        value = self._read(lead)
        named = value.strip() if isinstance(value, str) and value.strip() else None
        return OwnerAction("owner_from", named, self.line, self.field)


class SkillPool(LeadAction):
    """A pool with ``skill_from``: the lead's value at that path becomes one more required skill."""

    __slots__ = ("_read", "action", "key")

    def __init__(self, action: PoolAction, skill_from: str) -> None:
        self.action = action
        self.key = ("pool", action.pool)
        self._read = paths.getter(skill_from)

    def resolve(self, lead: Mapping[str, Any]) -> Action:
        value = self._read(lead)
        if not isinstance(value, str) or not value.strip():
            return self.action
        skill = value.strip().lower()
        if skill in self.action.require_skills:
            return self.action
        return replace(self.action, require_skills=(*self.action.require_skills, skill))


Step = Action | LeadAction


def step_key(step: Step) -> tuple[str, ...]:
    """What makes two steps the same, ignoring the line (to drop repeats from a chain)."""
    if isinstance(step, LeadAction):
        return step.key
    if isinstance(step, OwnerAction):
        return ("owner", step.owner_id or "")
    if isinstance(step, PoolAction):
        return ("pool", step.pool)
    return ("queue", step.queue)


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # full name: groups joined by " / "
    when: Condition | None
    channel: str
    chain: tuple[Step, ...]  # assign, own fallback, enclosing groups' fallbacks, defaults; no repeats
    line: int | None
    #: The chain as plain actions when no step reads the lead (the common case).
    fixed: tuple[Action, ...] | None = None

    def actions(self, lead: Mapping[str, Any]) -> tuple[Action, ...]:
        if self.fixed is not None:
            return self.fixed
        return tuple(step.resolve(lead) if isinstance(step, LeadAction) else step for step in self.chain)


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    when: Condition | None
    children: tuple[Route | Group, ...]
    line: int | None


Node = Route | Group
