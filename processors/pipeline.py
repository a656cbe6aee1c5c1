"""Each stage as one pure function, and the whole chain for in-process routing.

The Kafka stages in ``streams/stages/`` call exactly these functions, one each;
batch routing (``leadroute route``) calls :func:`route_raw_lead`, which chains
them. So a lead is routed the same way with or without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.assign import DefaultQueuePolicy, assign
from processors.crm.matcher import Matcher
from processors.enrich import enrich
from processors.enrichment.enricher import Enricher
from processors.lead import new_lead, stamped
from processors.match import match
from processors.models import Assignment, Lead, RawLead
from processors.normalize import lead_id_for, normalize_lead
from processors.ports import AssignmentStore, Clock, CrmMirror
from processors.segment import segment


def normalize_stage(raw: RawLead, *, received_at_ms: int, clock: Clock) -> Lead:
    lead = new_lead(lead_id_for(raw), raw, received_at_ms=received_at_ms)
    lead["normalized"] = normalize_lead(raw)
    return stamped(lead, "normalize", clock.now_ms())


def enrich_stage(lead: Lead, *, enricher: Enricher, clock: Clock) -> Lead:
    return stamped(enrich(lead, enricher), "enrich", clock.now_ms())


def match_stage(lead: Lead, *, matcher: Matcher, mirror: CrmMirror, clock: Clock) -> Lead:
    return stamped(match(lead, matcher, mirror), "match", clock.now_ms())


def segment_stage(lead: Lead, *, clock: Clock) -> Lead:
    return stamped(segment(lead), "segment", clock.now_ms())


def assign_stage(
    lead: Lead, *, policy: DefaultQueuePolicy, store: AssignmentStore, clock: Clock
) -> Assignment:
    return assign(stamped(lead, "assign", clock.now_ms()), policy=policy, store=store, clock=clock)


@dataclass(frozen=True, slots=True)
class Router:
    """Everything the chain needs besides the lead."""

    policy: DefaultQueuePolicy
    store: AssignmentStore
    clock: Clock
    enricher: Enricher
    matcher: Matcher
    mirror: CrmMirror


def route_raw_lead(raw: RawLead, *, received_at_ms: int, router: Router) -> Assignment:
    """Run every stage on one raw lead, in order, as the Kafka pipeline does."""
    clock = router.clock
    lead = normalize_stage(raw, received_at_ms=received_at_ms, clock=clock)
    lead = enrich_stage(lead, enricher=router.enricher, clock=clock)
    lead = match_stage(lead, matcher=router.matcher, mirror=router.mirror, clock=clock)
    lead = segment_stage(lead, clock=clock)
    return assign_stage(lead, policy=router.policy, store=router.store, clock=clock)
