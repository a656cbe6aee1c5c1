"""Each stage as one pure function, and the whole chain for in-process routing.

The Kafka stages in ``streams/stages/`` call these functions, one each; the
assign stage stamps its leads itself, because it writes the stamp into the
lead's own bytes, and then makes the same :func:`~processors.assign.assign_many`
call as :func:`assign_stage`. Batch routing (``leadroute route``) and simulation
call :func:`route_raw_leads`, which chains them. So a lead is routed the same
way with or without a broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from processors.assign import assign_many
from processors.crm.matcher import Matcher, match_leads
from processors.enrichment.enricher import Enricher
from processors.intake import DEFAULT_MAX_CUSTOM_BYTES, capped_custom
from processors.lead import new_lead, stamped
from processors.models import Assignment, Lead, RawLead
from processors.normalize import CUSTOM_TRUNCATED, lead_id_for, normalize_lead
from processors.ports import Clock, CrmMirror, OwnerDirectory, RoutingRules
from processors.routing.ledger import AssignmentLedger
from processors.segmentation import Segmenter


def normalize_stage(
    raw: RawLead,
    *,
    received_at_ms: int,
    clock: Clock,
    max_custom_bytes: int = DEFAULT_MAX_CUSTOM_BYTES,
) -> Lead:
    """The normalized lead; custom fields beyond ``max_custom_bytes`` are dropped and flagged.

    The id is derived from what was sent, before the cap, so a resubmission gets
    the same id whatever the cap. The flag ``custom_truncated`` lets rules and
    people see that some of what the sender put in custom did not travel.
    """
    lead_id = lead_id_for(raw)
    kept, dropped = capped_custom(raw.get("custom") or {}, max_custom_bytes)
    if dropped:
        raw = {**raw, "custom": kept}
    lead = new_lead(lead_id, raw, received_at_ms=received_at_ms)
    normalized = normalize_lead(raw)
    if dropped:
        normalized["flags"] = sorted({*normalized["flags"], CUSTOM_TRUNCATED})
    lead["normalized"] = normalized
    return stamped(lead, "normalize", clock.now_ms())


def enrich_stage(lead: Lead, *, enricher: Enricher, clock: Clock) -> Lead:
    return stamped(enricher.enrich(lead), "enrich", clock.now_ms())


def match_stage(leads: Sequence[Lead], *, matcher: Matcher, mirror: CrmMirror, clock: Clock) -> list[Lead]:
    now = clock.now_ms()
    return [stamped(lead, "match", now) for lead in match_leads(leads, matcher, mirror)]


def segment_stage(lead: Lead, *, segmenter: Segmenter, clock: Clock) -> Lead:
    return stamped({**lead, "segment": dict(segmenter.segment(lead))}, "segment", clock.now_ms())


def assign_stage(
    leads: Sequence[Lead],
    *,
    rules: RoutingRules,
    owners: OwnerDirectory,
    ledger: AssignmentLedger,
    clock: Clock,
    last_resort_queue: str,
    duplicate_window_s: int = 0,
) -> list[Assignment]:
    now = clock.now_ms()
    return assign_many(
        [stamped(lead, "assign", now) for lead in leads],
        rules=rules,
        owners=owners,
        ledger=ledger,
        clock=clock,
        last_resort_queue=last_resort_queue,
        duplicate_window_s=duplicate_window_s,
    )


@dataclass(frozen=True, slots=True)
class Router:
    """Everything the chain needs besides the leads."""

    rules: RoutingRules
    owners: OwnerDirectory
    ledger: AssignmentLedger
    clock: Clock
    enricher: Enricher
    matcher: Matcher
    mirror: CrmMirror
    segmenter: Segmenter
    last_resort_queue: str = "unassigned"
    max_custom_bytes: int = DEFAULT_MAX_CUSTOM_BYTES
    duplicate_window_s: int = 0  # 0: no duplicate check (see processors/routing/duplicates.py)


def route_leads(leads: Sequence[Lead], *, router: Router) -> list[Assignment]:
    """Match, segment and assign leads already normalized and enriched (replay, simulation)."""
    clock = router.clock
    matched = match_stage(leads, matcher=router.matcher, mirror=router.mirror, clock=clock)
    segmented = [segment_stage(lead, segmenter=router.segmenter, clock=clock) for lead in matched]
    return assign_stage(
        segmented,
        rules=router.rules,
        owners=router.owners,
        ledger=router.ledger,
        clock=clock,
        last_resort_queue=router.last_resort_queue,
        duplicate_window_s=router.duplicate_window_s,
    )


def route_raw_leads(raws: Sequence[tuple[RawLead, int]], *, router: Router) -> list[Assignment]:
    """Run every stage on raw leads (with their receive times), in order, as the Kafka pipeline does."""
    clock = router.clock
    leads = [
        enrich_stage(
            normalize_stage(raw, received_at_ms=at, clock=clock, max_custom_bytes=router.max_custom_bytes),
            enricher=router.enricher,
            clock=clock,
        )
        for raw, at in raws
    ]
    return route_leads(leads, router=router)


def route_raw_lead(raw: RawLead, *, received_at_ms: int, router: Router) -> Assignment:
    """One raw lead through every stage."""
    return route_raw_leads([(raw, received_at_ms)], router=router)[0]
