"""The assignment step: the rule engine's plan, made real against who is available now.

Four steps per batch of leads (:func:`assign_many`):

1. **plan**: the rules (a :class:`~processors.ports.RoutingRules`, loaded by
   ``processors/rules``) turn each lead into a
   :class:`~processors.routing.plan.RoutePlan`: the route that matched and its
   chain of actions (its own, then fallbacks), ended by the last-resort queue;
2. **attempts**: each action becomes an :class:`~processors.routing.ledger.Attempt`
   whose candidates carry what Python already knows about them from the
   :class:`~processors.ports.OwnerDirectory` (status, out of office, working
   hours in their own time zone, skills);
3. **ledger**: the :class:`~processors.routing.ledger.AssignmentLedger` picks
   atomically across every assign worker (cursors, weights, caps) and remembers
   the decision per lead id, so a replayed lead gets the same owner;
4. **event**: :func:`assignment_from` builds the event from the plan's part
   (stored with the decision) and the ledger's part, so a first decision and its
   replay read the same. Its words (reason, decision path, routes tried) come
   from :mod:`processors.rules.explain`.

Duplicates (:mod:`processors.routing.duplicates`): before planning, each lead's
identities are looked up in the ledger; a lead repeating a recently routed one
is planned with a ``duplicate`` section (the rules can test it; by default the
first lead's owner is tried first). A lead sharing an identity with an earlier
lead of the same batch waits for that lead's decision (a later ledger call in
the same batch), and a lead the ledger finds repeating one recorded since it
was planned (another worker's) is planned again as its duplicate.

Leads that take the same plan share its part (:func:`plan_part`, a bounded cache
keyed by the plan): routing has few outcomes, and building the explanation, its
JSON and the decision path's route lines per lead cost the assign stage 1.16-1.46x
of its throughput (``leadroute bench assign --leads 20000 --compare-plain 3``, the
stage against ``plan_part`` built per lead, medians of 3 interleaved rounds on two
shared cores, four runs on 2026-12-07; 1.16x on the stage as it now is). That is
worth a cache whose parts are never changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from processors.models import Assignment, Lead, OwnerSkip
from processors.owners.availability import candidate_for, unknown_candidate
from processors.owners.models import Owner
from processors.ports import Clock, OwnerDirectory, RoutingRules
from processors.routing.duplicates import FirstLead, identities, later_in_batch
from processors.routing.ledger import AssignmentLedger, AssignRequest, AssignResult, Attempt, Candidate
from processors.routing.plan import Action, OwnerAction, PoolAction, QueueAction, RoutePlan
from processors.rules.explain import (
    OWNER_LABELS,
    action_label,
    decision_path,
    duplicate_line,
    missing_owner,
    reason_sentence,
    replayed_path,
    route_lines,
    routes_tried,
)


def assignment_id_for(lead_id: str) -> str:
    """One assignment per lead: the id is derived from the lead id, so replays agree."""
    return "as_" + hashlib.sha256(lead_id.encode()).hexdigest()[:24]


class CandidateCache:
    """Each owner's availability, judged once per batch: every lead of a batch is decided at one instant."""

    def __init__(self, owners: Mapping[str, Owner], now_ms: int) -> None:
        self._owners = owners
        self._now_ms = now_ms
        self._seen: dict[tuple[str, float, tuple[str, ...]], Candidate] = {}
        self._by_email: dict[str, str | None] | None = None

    def owner_named(self, text: str) -> str | None:
        """The owner a lead's field names: an owner id exactly, else one owner's e-mail in any case.

        An e-mail two owners share names nobody: guessing between them would
        route a partner's lead to the wrong rep.
        """
        if text in self._owners:
            return text
        if self._by_email is None:
            self._by_email = {}
            for owner in self._owners.values():
                email = owner.email.strip().casefold()
                if email:
                    self._by_email[email] = None if email in self._by_email else owner.id
        return self._by_email.get(text.strip().casefold())

    def get(self, owner_id: str, weight: float = 1.0, require_skills: tuple[str, ...] = ()) -> Candidate:
        key = (owner_id, weight, require_skills)
        found = self._seen.get(key)
        if found is None:
            owner = self._owners.get(owner_id)
            found = (
                candidate_for(owner, weight, self._now_ms, require_skills)
                if owner is not None
                else unknown_candidate(owner_id)
            )
            self._seen[key] = found
        return found


def attempt_for(action: Action, candidates: CandidateCache) -> Attempt:
    """The ledger's view of one action: its candidates and what is known against them."""
    if isinstance(action, QueueAction):
        return Attempt("queue", action.queue)
    if isinstance(action, PoolAction):
        members = tuple(
            candidates.get(member.owner_id, member.weight, action.require_skills) for member in action.members
        )
        return Attempt("pool", action.pool, members, action.strategy, action.balance_by)
    if action.owner_id is None:
        return Attempt("owner", OWNER_LABELS[action.source])
    return Attempt("owner", OWNER_LABELS[action.source], (candidates.get(action.owner_id),))


class _Memo(dict[Any, Any]):
    """A size-bounded cache: the rule engine hands out the same plans for the same values."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: Any, value: Any) -> Any:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


def _plan_body(plan: RoutePlan, actions: Sequence[Action]) -> dict[str, Any]:
    """The plan's part of a decision, but its time: stored with it, so a replay reproduces it exactly."""
    return {
        "route": plan.route,
        "channel": plan.channel,
        "rules_version": plan.rules_version,
        "actions": [action_label(action) for action in actions],
        "missing": [missing_owner(action) for action in actions],
        "routes_tried": routes_tried(plan),
        "territories": list(plan.territories),
        "segments": list(plan.segments),
        "notes": list(plan.notes),
    }


@dataclass(frozen=True, slots=True)
class PlanPart:
    """What one plan contributes to every decision made from it.

    Routing has few outcomes: thousands of leads share a handful of plans (the
    same routes tried, the same values seen). Their explanation, its JSON and the
    decision-path lines about routes are built once per distinct plan and shared
    by the events; they are never changed after.
    """

    body: dict[str, Any]  # the stored meta without decided_at_ms
    body_json: str  # JSON of ``body`` without its closing brace
    route_lines: tuple[str, ...]  # the decision path before its actions

    def meta(self, decided_at_ms: int) -> tuple[dict[str, Any], str]:
        """The stored meta for a decision at ``decided_at_ms``, as a dict and as JSON."""
        meta = dict(self.body)
        meta["decided_at_ms"] = decided_at_ms
        return meta, f'{self.body_json},"decided_at_ms":{int(decided_at_ms)}}}'


_PLAN_PARTS = _Memo(4_096)


def plan_part(plan: RoutePlan, actions: Sequence[Action]) -> PlanPart:
    """The shared part of ``plan`` with its actions (the last-resort queue included)."""
    key = (
        plan.rules_version,
        plan.route,
        plan.channel,
        tuple(actions),
        plan.trace,
        plan.territories,
        plan.segments,
        plan.notes,
    )
    try:
        found = _PLAN_PARTS.get(key)
    except TypeError:  # a value seen that cannot be hashed (a map, a list): built each time
        return _new_plan_part(plan, actions)
    return found if found is not None else _PLAN_PARTS.keep(key, _new_plan_part(plan, actions))


def _new_plan_part(plan: RoutePlan, actions: Sequence[Action]) -> PlanPart:
    body = _plan_body(plan, actions)
    return PlanPart(
        body, json.dumps(body, ensure_ascii=False, separators=(",", ":"))[:-1], tuple(route_lines(body))
    )


def _named_owner(action: OwnerAction, candidates: CandidateCache) -> OwnerAction:
    """An ``owner_from`` action with the lead's text replaced by the owner it names (or none)."""
    return replace(action, owner_id=candidates.owner_named(action.owner_id or ""))


def request_for(
    lead: Lead, plan: RoutePlan, candidates: CandidateCache, now_ms: int, last_resort_queue: str
) -> AssignRequest:
    return _request_and_meta(lead, plan, candidates, now_ms, last_resort_queue)[0]


@dataclass(frozen=True, slots=True)
class _Identity:
    """What the duplicate check knows of one lead: its identities and the lead it repeats."""

    keys: tuple[str, ...] = ()
    ttl_s: int = 0
    first: FirstLead | None = None


_NO_IDENTITY = _Identity()


def _request_and_meta(
    lead: Lead,
    plan: RoutePlan,
    candidates: CandidateCache,
    now_ms: int,
    last_resort_queue: str,
    identity: _Identity = _NO_IDENTITY,
) -> tuple[AssignRequest, dict[str, Any], PlanPart]:
    actions: list[Action] = [
        _named_owner(action, candidates)
        if type(action) is OwnerAction and action.field is not None and action.owner_id is not None
        else action
        for action in plan.actions
    ]
    if not actions or not isinstance(actions[-1], QueueAction):
        # A lead is never left without a destination: if every owner in the
        # chain is unavailable, it waits in the last-resort queue.
        actions.append(QueueAction(last_resort_queue))
    part = plan_part(plan, actions)
    meta, meta_json = part.meta(now_ms)
    if identity.first is not None:
        section = identity.first.section()
        meta["duplicate_of"] = section
        meta_json = meta_json[:-1] + ',"duplicate_of":' + json.dumps(section, ensure_ascii=False) + "}"
    request = AssignRequest(
        lead_id=lead["lead_id"],
        attempts=tuple(attempt_for(action, candidates) for action in actions),
        now_ms=now_ms,
        meta=meta_json,
        sticky_key=plan.sticky_key,
        sticky_ttl_s=plan.sticky_window_s,
        returning_owner_credit=plan.returning_owner_credit,
        identities=identity.keys,
        identity_ttl_s=identity.ttl_s,
        duplicate_of=identity.first.lead_id if identity.first is not None else None,
    )
    return request, meta, part


def assignment_from(
    lead: Lead, meta: Mapping[str, Any], result: AssignResult, route_lines: Sequence[str] | None = None
) -> Assignment:
    """The event for ``lead`` from the stored plan part and the ledger's result.

    ``route_lines``: the decision path's lines about routes, when already built from ``meta``.
    """
    if "rebuilt" in meta:  # a decision recovered from leads.assigned after Redis lost the ledger
        return _rebuilt_assignment(lead, meta["rebuilt"])
    labels: list[str] = list(meta["actions"])
    placed = result.attempt if result.attempt is not None else len(labels) - 1
    skips: list[OwnerSkip] = [
        {"action": labels[skip.attempt], "owner_id": skip.owner_id, "reason": skip.reason}
        for skip in result.skips
    ]
    route = meta["route"]
    destination_type: Literal["owner", "queue"] = "owner" if result.owner_id else "queue"
    destination = result.owner_id or labels[placed].removeprefix("queue ")
    path = decision_path(meta, labels, placed, result, route_lines)
    reason = reason_sentence(route, labels, placed, destination_type, destination, skips, result.sticky)
    duplicate = meta.get("duplicate_of")
    if duplicate is not None:
        repeats = duplicate_line(duplicate)
        path = [repeats, *path]
        reason = f"{reason} It {repeats}."
    return {
        "assignment_id": assignment_id_for(lead["lead_id"]),
        "lead_id": lead["lead_id"],
        "destination_type": destination_type,
        "destination": destination,
        "channel": meta["channel"],
        "reason": reason,
        "rules_version": meta["rules_version"],
        "decided_at_ms": meta["decided_at_ms"],
        "replayed": result.replayed,
        "decision_path": path,
        "route": route,
        "action": labels[placed],
        "fallback_depth": placed,
        "skips": skips,
        "routes_tried": meta["routes_tried"],
        "territories": meta["territories"],
        "segments": meta["segments"],
        "sticky": result.sticky,
        "is_duplicate": "duplicate_of" in meta,
        "duplicate_of": meta.get("duplicate_of"),
        "lead": lead,
    }


#: Fields of a first decision's event that a decision rebuilt from it keeps (all but the lead
#: and the replay flag, which come from the redelivered lead).
_REBUILT_FIELDS = (
    "assignment_id",
    "destination_type",
    "destination",
    "channel",
    "reason",
    "rules_version",
    "decided_at_ms",
    "decision_path",
    "route",
    "action",
    "fallback_depth",
    "skips",
    "routes_tried",
    "territories",
    "segments",
    "sticky",
    "is_duplicate",
    "duplicate_of",
)


def rebuilt_meta(assignment: Mapping[str, Any]) -> dict[str, Any]:
    """The stored meta of a decision recovered from its event, after the ledger was lost.

    The event already says everything a replay repeats, so the meta holds it
    as it was rather than rebuilding the plan it came from.
    """
    return {"rebuilt": {name: assignment[name] for name in _REBUILT_FIELDS}}


def _rebuilt_assignment(lead: Lead, first: Mapping[str, Any]) -> Assignment:
    # ``first`` holds the stored event's _REBUILT_FIELDS; with the lead's own fields it is a whole event.
    return cast(
        Assignment,
        {
            **first,
            "lead_id": lead["lead_id"],
            "replayed": True,
            "decision_path": replayed_path(first["decision_path"]),
            "lead": lead,
        },
    )


def expected_shares(request: AssignRequest, result: AssignResult) -> dict[str, float]:
    """Each eligible member's fair share of one pool placement: weight over the eligible weight.

    Summed over time and compared with what each owner actually got, this is the
    fairness ledger's "expected" column; an owner who was away, capped or off
    shift was not eligible and accrues nothing, so returning is no debt.
    """
    if result.replayed or result.attempt is None:
        return {}
    attempt = request.attempts[result.attempt]
    if attempt.kind != "pool":
        return {}
    passed_over = {skip.owner_id for skip in result.skips if skip.attempt == result.attempt}
    eligible = [c for c in attempt.candidates if c.skip is None and c.owner_id not in passed_over]
    if result.owner_id is not None and all(c.owner_id != result.owner_id for c in eligible):
        eligible += [c for c in attempt.candidates if c.owner_id == result.owner_id]
    total = sum(c.weight for c in eligible)
    return {c.owner_id: c.weight / total for c in eligible} if total > 0 else {}


def assign_many(
    leads: Sequence[Lead],
    *,
    rules: RoutingRules,
    owners: OwnerDirectory,
    ledger: AssignmentLedger,
    clock: Clock,
    last_resort_queue: str,
    on_decided: Callable[[AssignRequest, AssignResult], None] | None = None,
    duplicate_window_s: int = 0,
) -> list[Assignment]:
    """Decide every lead of a batch, in one ledger call unless it repeats a person.

    ``on_decided`` sees each request with its result (the stage turns them into
    fairness metrics). ``duplicate_window_s`` > 0 turns the duplicate check on:
    a lead repeats a lead routed that recently with the same e-mail, phone, or
    name and company.
    """
    if not leads:
        return []
    now_ms = clock.now_ms()
    candidates = CandidateCache(owners.owners(), now_ms)
    known = [
        _Identity(identities(lead), duplicate_window_s) if duplicate_window_s > 0 else _NO_IDENTITY
        for lead in leads
    ]
    if any(item.keys for item in known):
        _look_up(ledger, leads, known, range(len(leads)), now_ms)
    events: list[Assignment | None] = [None] * len(leads)
    pending = list(range(len(leads)))
    for _ in range(2 * len(leads) + 1):  # each round decides or re-plans at least its first lead
        if not pending:
            break
        waits = later_in_batch([(leads[i]["lead_id"], known[i].keys) for i in pending])
        now, later = (
            [i for i, w in zip(pending, waits, strict=True) if not w],
            [i for i, w in zip(pending, waits, strict=True) if w],
        )
        planned = [
            _request_and_meta(
                _with_duplicate(leads[i], known[i]),
                rules.plan(_with_duplicate(leads[i], known[i])),
                candidates,
                now_ms,
                last_resort_queue,
                known[i],
            )
            for i in now
        ]
        results = ledger.assign_many([request for request, _, _ in planned])
        again: list[int] = []
        for i, (request, meta, part), result in zip(now, planned, results, strict=True):
            if result.unplanned_duplicate is not None:
                known[i] = _Identity(known[i].keys, known[i].ttl_s, result.unplanned_duplicate)
                again.append(i)
                continue
            if on_decided is not None:
                on_decided(request, result)
            # A first decision's stored meta is the one just built; a replay's is the first decision's.
            events[i] = (
                assignment_from(leads[i], json.loads(result.meta), result)
                if result.replayed
                else assignment_from(leads[i], meta, result, part.route_lines)
            )
        if later:
            _look_up(ledger, leads, known, later, now_ms)
        pending = sorted(again + later)
    if pending:
        raise RuntimeError(f"the ledger kept refusing {len(pending)} duplicate leads; this is a bug")
    return [event for event in events if event is not None]


def _with_duplicate(lead: Lead, identity: _Identity) -> Lead:
    if identity.first is None:
        return lead
    return cast(Lead, {**lead, "duplicate": identity.first.section()})


def _look_up(
    ledger: AssignmentLedger, leads: Sequence[Lead], known: list[_Identity], which: Sequence[int], now_ms: int
) -> None:
    found = ledger.first_leads([(leads[i]["lead_id"], known[i].keys) for i in which], now_ms)
    for i, first in zip(which, found, strict=True):
        known[i] = _Identity(known[i].keys, known[i].ttl_s, first)
