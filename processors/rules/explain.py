"""Routing in words: the decision stored with every assignment, and a plan for a person to read.

Two renderings of one plan's trace, for two readers:

* **The decision**, on every ``leads.assigned`` event: its ``reason`` (one
  sentence), ``decision_path`` (each route tried with the conditions and the
  value seen as JSON, cut to 200 characters; the rule set's notes; then each
  action walked: what was not possible, who was skipped and why, who was chosen)
  and ``routes_tried``. :mod:`processors.assign` builds the event with these.
  The plan's share (action labels, what was not possible, routes tried, the
  route lines) is stored with the decision and read back on a replay, so a
  replayed lead reads exactly as its first decision did.
* **The plan**, for ``leadroute explain`` (:func:`explain_tree`) and
  :func:`explain_lines`: each route or group tried, yes/no, and the conditions
  evaluated with the value seen shortened to 60 characters, then where the
  lead goes. Nothing stores it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.models import ConditionOutcome, OwnerSkip, RouteTried
from processors.routing.ledger import AssignResult
from processors.routing.plan import (
    Action,
    ConditionTrace,
    OwnerAction,
    PoolAction,
    QueueAction,
    RoutePlan,
    RouteTrace,
)
from processors.rules.values import show

#: What an owner action is called: in the event, in both renderings and as the ledger's attempt name.
OWNER_LABELS = {
    "owner": "owner",
    "account_owner": "account owner",
    "existing_owner": "existing owner",
    "first_lead_owner": "first lead's owner",
    "owner_from": "owner named by the lead",
}
_NO_OWNER = {
    "first_lead_owner": "the lead this one repeats went to a queue",
    "account_owner": "the lead matched no CRM account with an owner",
    "existing_owner": "the lead is not a known CRM lead or contact with an owner",
    "owner": "no owner named",
    "owner_from": "the lead's field is empty or names no owner in the directory (by id or e-mail)",
}
#: The line every replayed event's decision path ends with.
REPLAYED_LINE = "replayed: this lead was decided before; the first decision stands"
_MAX_SEEN_CHARS = 200
_json_string = json.encoder.encode_basestring


# --- The decision: the event's reason, decision path and routes tried ---------------------------


def action_label(action: Action) -> str:
    """An action as the event names it: "pool emea (round_robin)", "account owner ana", "queue triage"."""
    if isinstance(action, QueueAction):
        return f"queue {action.queue}"
    if isinstance(action, PoolAction):
        return f"pool {action.pool} ({action.strategy})"
    label = _owner_label(action)
    return f"{label} {action.owner_id}" if action.owner_id else label


def _owner_label(action: OwnerAction) -> str:
    """ "account owner", or for ``owner_from`` the field that named the owner."""
    if action.field is not None:
        return f"owner named by {action.field}"
    return OWNER_LABELS[action.source]


#: How a duplicate's match is said: "repeats lead l-1 (same e-mail)".
_MATCHED_ON = {"email": "e-mail", "phone": "phone", "name_company": "name and company"}


def duplicate_line(duplicate: Mapping[str, Any]) -> str:
    """The decision path's first line for a duplicate, naming the lead it repeats and why."""
    matched = _MATCHED_ON.get(duplicate["matched_on"], duplicate["matched_on"])
    return f"repeats lead {duplicate['lead_id']} (same {matched}), routed within the duplicate window"


def missing_owner(action: Action) -> str | None:
    """Why an owner action cannot place the lead, known from the plan alone; ``None`` when it might."""
    if isinstance(action, OwnerAction) and action.owner_id is None:
        if action.field is not None:
            return f"{action.field} is empty or names no owner in the directory (by id or e-mail)"
        return _NO_OWNER[action.source]
    return None


def seen_text(value: Any) -> str | None:
    """The value as JSON (short): what a person reads next to the condition."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:  # most values seen: the same text json.dumps gives, without its set-up
        text = _json_string(value)
    elif kind is bool:
        text = "true" if value else "false"
    elif kind is int:
        text = int.__repr__(value)
    elif (kind is tuple or kind is list) and all(type(item) is str for item in value):
        text = "[" + ",".join(map(_json_string, value)) + "]"  # territories and segments seen
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= _MAX_SEEN_CHARS else text[: _MAX_SEEN_CHARS - 1] + "…"


def routes_tried(plan: RoutePlan) -> list[RouteTried]:
    """The event's ``routes_tried``: every route and group evaluated, each condition with the value seen."""
    return [
        {
            "route": trace.route,
            "matched": trace.matched,
            "conditions": [
                ConditionOutcome(condition=c.description, seen=seen_text(c.seen), matched=c.matched)
                for c in trace.conditions
            ],
        }
        for trace in plan.trace
    ]


def _check_text(outcome: ConditionOutcome) -> str:
    """One condition in the decision path: "<condition>: saw <value> → yes|no"."""
    seen = outcome["seen"] if outcome["seen"] is not None else "nothing"
    return f"{outcome['condition']}: saw {seen} → {'yes' if outcome['matched'] else 'no'}"


def route_lines(meta: Mapping[str, Any]) -> list[str]:
    """The decision path up to the actions: each route tried, the default, the plan's notes."""
    lines: list[str] = []
    for tried in meta["routes_tried"]:
        verdict = "matched" if tried["matched"] else "no match"
        checks = "; ".join(map(_check_text, tried["conditions"]))
        lines.append(f"route {tried['route']}: {verdict}" + (f" ({checks})" if checks else ""))
    if meta["route"] is None:
        lines.append("no route matched: the rule set's default fallback applies")
    lines.extend(f"note: {note}" for note in meta.get("notes", []))
    return lines


def decision_path(
    meta: Mapping[str, Any],
    labels: list[str],
    placed: int,
    result: AssignResult,
    routes: Sequence[str] | None = None,
) -> list[str]:
    """The event's ``decision_path``: the route lines (``routes``, when already built), then each action."""
    path = list(routes) if routes is not None else route_lines(meta)
    for index, label in enumerate(labels[: placed + 1]):
        step = "action" if index == 0 else f"fallback {index}"
        missing = meta["missing"][index]
        skipped = [s for s in result.skips if s.attempt == index]
        parts = [f"{step}: {label}"]
        if missing:
            parts.append(f"not possible: {missing}")
        parts.extend(f"skipped {s.owner_id}: {s.reason}" for s in skipped)
        if index == placed:
            chosen = result.owner_id or label
            parts.append(f"chose {chosen}" + (" (new-logo stickiness)" if result.sticky else ""))
        elif not missing and not skipped:
            parts.append("no one could take the lead")
        path.append(" — ".join(parts))
    return replayed_path(path) if result.replayed else path


def replayed_path(path: Sequence[str]) -> list[str]:
    """A replay's decision path: the first decision's lines, then the replay line, once."""
    return [*(line for line in path if line != REPLAYED_LINE), REPLAYED_LINE]


def reason_sentence(
    route: str | None,
    labels: list[str],
    placed: int,
    destination_type: str,
    destination: str,
    skips: list[OwnerSkip],
    sticky: bool,
) -> str:
    """The event's ``reason``: where the lead went, through which action, and who was passed over."""
    where = f"Route '{route}'" if route else "No route matched, so the default"
    target = f"owner {destination}" if destination_type == "owner" else f"queue {destination}"
    via = labels[placed]
    sentence = f"{where} sent the lead to {target} via {via}"
    if sticky:
        sentence += ", who already works this new company"
    if placed:
        sentence += f" after {placed} action{'s' if placed > 1 else ''} before it could not place it"
    if skips:
        first = f"{skips[0]['owner_id']}: {skips[0]['reason']}"
        more = ", …" if len(skips) > 1 else ""
        sentence += f"; {len(skips)} owner{'s' if len(skips) > 1 else ''} skipped ({first}{more})"
    return sentence + "."


# --- The plan, for a person: ``leadroute explain`` ----------------------------------------------


def describe_condition(condition: ConditionTrace) -> str:
    """'segment.size_band in [enterprise]: saw 'smb' → no'; facts (territory, segment) have no value."""
    verdict = "yes" if condition.matched else "no"
    if condition.description.startswith(("territory ", "segment ")):
        return f"{condition.description} → {verdict}"
    seen = "nothing" if condition.seen is None else show(condition.seen)
    return f"{condition.description}: saw {seen} → {verdict}"


def describe_action(action: Action) -> str:
    if isinstance(action, OwnerAction):
        who = action.owner_id if action.owner_id is not None else "(none)"
        return f"{_owner_label(action)} {who}"
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
