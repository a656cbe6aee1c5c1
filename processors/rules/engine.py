"""Planning one lead: territories, segments, then routes in order, first match wins.

Pure and allocation-light: conditions were compiled at load, route chains without
lead-dependent steps are ready-made tuples, and repeated condition traces are
reused. A group whose condition holds is entered; when none of its routes
matches, evaluation continues with the route after the group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors.routing.plan import ConditionTrace, RouteTrace
from processors.rules.conditions import Condition, Facts
from processors.rules.model import Group, Node, Route
from processors.rules.territories import TerritoryIndex, place_of

_NO_CONDITIONS: tuple[ConditionTrace, ...] = ()


def facts_for(
    lead: Mapping[str, Any],
    territories: TerritoryIndex,
    segments: Mapping[str, Condition],
    segment_order: tuple[str, ...],
) -> Facts:
    """The lead's territories and named segments, computed once before any route."""
    place = place_of(lead)
    inside = territories.locate(place)
    facts = Facts(inside, {})
    found = facts.segments
    for name in segment_order:
        found[name] = segments[name].test(lead, facts, None)
    facts.matched = tuple(name for name in segments if found[name])
    return facts


def walk(
    nodes: tuple[Node, ...], lead: Mapping[str, Any], facts: Facts, trace: list[RouteTrace]
) -> Route | None:
    """The first route that matches, recording every route and group looked at."""
    for node in nodes:
        when = node.when
        if when is None:
            matched = True
            conditions = _NO_CONDITIONS
        else:
            seen: list[ConditionTrace] = []
            matched = when.test(lead, facts, seen)
            conditions = tuple(seen)
        trace.append(RouteTrace(node.name, matched, conditions, node.line, isinstance(node, Group)))
        if not matched:
            continue
        if isinstance(node, Group):
            found = walk(node.children, lead, facts, trace)
            if found is not None:
                return found
            continue
        return node
    return None


def sticky_key(lead: Mapping[str, Any]) -> str | None:
    """The company domain of a new logo: no CRM account, and a work (not free or throw-away) email."""
    crm = lead.get("crm")
    if isinstance(crm, Mapping) and crm.get("account") is not None:
        return None
    enrichment = lead.get("enrichment")
    if not isinstance(enrichment, Mapping):
        return None
    if enrichment.get("email_is_free_mail") is True or enrichment.get("email_is_disposable") is True:
        return None
    domain = enrichment.get("company_domain")
    if not isinstance(domain, str) or not domain.strip():
        return None
    return domain.strip().lower()
