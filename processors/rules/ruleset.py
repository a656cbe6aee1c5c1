"""A loaded rule set: plan a lead, or list what ``leadroute rules check`` would say."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from processors.routing.plan import Action, OwnerAction, RoutePlan, RouteTrace
from processors.rules.conditions import Condition
from processors.rules.engine import facts_for, sticky_key, walk
from processors.rules.findings import Finding
from processors.rules.model import Group, LeadAction, Node, Pool, Route, Step
from processors.rules.territories import Territory, TerritoryIndex

NO_ROUTE_NOTE = "no route matched: defaults.channel and defaults.fallback applied"


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """An error-free, compiled rule file. Immutable and safe to share between threads."""

    version: str  # "rules@" + 12 hex: the hash of the parsed content (see loader.version_of)
    name: str | None
    source: str
    default_channel: str
    default_steps: tuple[Step, ...]
    default_actions: tuple[Action, ...] | None  # None when a default step reads the lead
    territories: tuple[Territory, ...]
    segments: Mapping[str, Condition]  # file order
    segment_order: tuple[str, ...]  # evaluation order (referenced segments first)
    pools: Mapping[str, Pool]
    queues: tuple[str, ...] | None
    routes: tuple[Node, ...]
    sticky_window_s: int
    returning_owner_credit: int
    follow_first_owner: bool
    owner_refs: tuple[tuple[str, int | None, str], ...]
    warnings: tuple[Finding, ...]
    territory_index: TerritoryIndex

    def plan(self, lead: Mapping[str, Any]) -> RoutePlan:
        """Where ``lead`` should go, in order of preference, and why. Pure; never reads state."""
        facts = facts_for(lead, self.territory_index, self.segments, self.segment_order)
        trace: list[RouteTrace] = []
        route = walk(self.routes, lead, facts, trace)
        key = sticky_key(lead) if self.sticky_window_s > 0 else None
        segments = facts.segment_names()
        if route is None:
            actions = self.default_actions
            if actions is None:
                actions = tuple(
                    step.resolve(lead) if isinstance(step, LeadAction) else step
                    for step in self.default_steps
                )
            return RoutePlan(
                rules_version=self.version,
                route=None,
                channel=self.default_channel,
                actions=self._first_owner_first(lead, actions),
                trace=tuple(trace),
                territories=facts.territories,
                segments=segments,
                sticky_key=key,
                sticky_window_s=self.sticky_window_s if key else 0,
                returning_owner_credit=self.returning_owner_credit,
                notes=(NO_ROUTE_NOTE,),
            )
        return RoutePlan(
            rules_version=self.version,
            route=route.name,
            channel=route.channel,
            actions=self._first_owner_first(lead, route.actions(lead)),
            trace=tuple(trace),
            territories=facts.territories,
            segments=segments,
            sticky_key=key,
            sticky_window_s=self.sticky_window_s if key else 0,
            returning_owner_credit=self.returning_owner_credit,
        )

    def _first_owner_first(self, lead: Mapping[str, Any], actions: tuple[Action, ...]) -> tuple[Action, ...]:
        """A duplicate (``lead.duplicate``, set by the assign step) tries the first lead's owner first.

        The same rep answers the same person twice; when that rep is away the
        route's own actions follow as usual. ``duplicates.follow_first_owner:
        false`` leaves duplicates to the rules.
        """
        duplicate = lead.get("duplicate")
        if not self.follow_first_owner or not isinstance(duplicate, Mapping) or not duplicate.get("lead_id"):
            return actions
        return (OwnerAction("first_lead_owner", duplicate.get("owner_id") or None), *actions)

    def leaf_routes(self) -> list[Route]:
        """Every route, groups opened, in file order."""
        found: list[Route] = []

        def visit(nodes: tuple[Node, ...]) -> None:
            for node in nodes:
                if isinstance(node, Group):
                    visit(node.children)
                else:
                    found.append(node)

        visit(self.routes)
        return found

    def channels(self) -> tuple[str, ...]:
        """Every channel a lead can leave on: the topics ``leads.assigned.<channel>`` must exist."""
        return tuple(dict.fromkeys([self.default_channel, *(route.channel for route in self.leaf_routes())]))

    def check(self, owner_ids: Collection[str] | None = None) -> list[Finding]:
        """The file's warnings, plus owner findings when the known owner ids are given."""
        from processors.rules.check import owner_findings

        found = list(self.warnings)
        if owner_ids is not None:
            found.extend(owner_findings(self.source, list(self.owner_refs), owner_ids))
        return sorted(found, key=lambda item: (item.line or 0, item.severity != "error", item.code))
