"""A plan in words: the decision path stored with every assignment, and a tree for the CLI.

Lines name each route or group tried, yes/no, and the conditions evaluated with
the value seen, then where the lead goes. Values are shortened to 60 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from processors.routing.plan import Action, ConditionTrace, OwnerAction, PoolAction, RoutePlan, RouteTrace
from processors.rules.values import show


def describe_condition(condition: ConditionTrace) -> str:
    """'segment.size_band in [enterprise]: saw 'smb' → no'; facts (territory, segment) have no value."""
    verdict = "yes" if condition.matched else "no"
    if condition.description.startswith(("territory ", "segment ")):
        return f"{condition.description} → {verdict}"
    seen = "nothing" if condition.seen is None else show(condition.seen)
    return f"{condition.description}: saw {seen} → {verdict}"


def describe_action(action: Action) -> str:
    if isinstance(action, OwnerAction):
        label = {"owner": "owner", "account_owner": "account owner", "existing_owner": "existing owner"}
        who = action.owner_id if action.owner_id is not None else "(none)"
        return f"{label[action.source]} {who}"
    if isinstance(action, PoolAction):
        size = len(action.members)
        extra = f", skills {', '.join(action.require_skills)}" if action.require_skills else ""
        return f"pool {action.pool} ({action.strategy}, {size} member{'s' if size != 1 else ''}{extra})"
    return f"queue {action.queue}"


def _kind(trace: RouteTrace) -> str:
    return "group" if trace.group else "route"


def _route_line(trace: RouteTrace) -> str:
    verdict = "yes" if trace.matched else "no"
    if not trace.conditions:
        detail = "no conditions" if trace.matched else "not evaluated"
    else:
        detail = "; ".join(describe_condition(condition) for condition in trace.conditions)
    return f"{_kind(trace)} '{trace.route}': {verdict} ({detail})"


def explain_lines(plan: RoutePlan) -> list[str]:
    """The flat decision path: facts, each route tried, fall-throughs, and the destination."""
    lines: list[str] = []
    facts = []
    if plan.territories:
        facts.append("territories " + ", ".join(plan.territories))
    if plan.segments:
        facts.append("segments " + ", ".join(plan.segments))
    if facts:
        lines.append("lead is in " + "; ".join(facts))
    open_groups: list[str] = []
    for trace in plan.trace:
        while open_groups and not trace.route.startswith(open_groups[-1] + " / "):
            lines.append(f"group '{open_groups.pop()}': no route inside matched, continuing after it")
        lines.append(_route_line(trace))
        if trace.group and trace.matched:
            open_groups.append(trace.route)
    if plan.route is None:
        while open_groups:
            lines.append(f"group '{open_groups.pop()}': no route inside matched, continuing after it")
    chain = ", then ".join(describe_action(action) for action in plan.actions) or "no action"
    if plan.route is None:
        lines.append(f"→ no route matched; defaults: channel {plan.channel}: {chain}")
    else:
        lines.append(f"→ route '{plan.route}' on channel {plan.channel}: {chain}")
    if plan.sticky_key:
        lines.append(f"new-logo stickiness on {plan.sticky_key} for {plan.sticky_window_s}s")
    return lines


@dataclass(slots=True)
class ExplainNode:
    """One route or group for a tree view; a group's routes are its ``children``."""

    name: str  # own name (the last part of the full name)
    full_name: str
    kind: str  # "route" | "group"
    matched: bool
    chosen: bool  # the route the plan took
    conditions: tuple[str, ...]
    line: int | None
    children: list[ExplainNode] = field(default_factory=list)


def explain_tree(plan: RoutePlan) -> list[ExplainNode]:
    """The trace nested by group, in evaluation order."""
    roots: list[ExplainNode] = []
    stack: list[ExplainNode] = []
    for trace in plan.trace:
        while stack and not trace.route.startswith(stack[-1].full_name + " / "):
            stack.pop()
        own = trace.route[len(stack[-1].full_name) + 3 :] if stack else trace.route
        node = ExplainNode(
            name=own,
            full_name=trace.route,
            kind=_kind(trace),
            matched=trace.matched,
            chosen=trace.route == plan.route and not trace.group,
            conditions=tuple(describe_condition(condition) for condition in trace.conditions),
            line=trace.line,
        )
        (stack[-1].children if stack else roots).append(node)
        if trace.group:
            stack.append(node)
    return roots
