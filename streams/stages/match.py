"""match: leads.enriched → leads.matched, against the CRM mirror that crm-sync keeps in Redis.

One Redis round trip per batch of leads (a server-side script gathers every
lead's candidates, pipelined); Redis being down stops the stage so the batch is
retried, never dead-lettered.
"""

from __future__ import annotations

from processors.crm.matcher import Matcher
from processors.models import Lead
from processors.pipeline import match_stage
from processors.ports import Clock, CrmMirror
from streams import metrics, topics, wiring
from streams.recovery.rebuild import StateGate, StatePlan
from streams.settings import Settings
from streams.stages.base import BatchStep, lead_batch_step
from streams.wiring import matcher_for

NAME = "match"
INPUT = topics.ENRICHED
OUTPUT = topics.MATCHED


def record_metrics(lead: Lead) -> None:
    """Match rate by method, no-match rate, duplicate and review rates."""
    section = lead.get("crm")
    if not section:
        return
    person, account = section.get("person"), section.get("account")
    if account:
        metrics.CRM_MATCHES.labels(f"account_{account['method']}").inc()  # type: ignore[index]
    if person:
        metrics.CRM_MATCHES.labels(f"person_{person['method']}").inc()  # type: ignore[index]
        metrics.CRM_DUPLICATES.inc()
    if not account and not person:
        metrics.CRM_MATCHES.labels("none").inc()
    if section.get("review"):
        metrics.CRM_REVIEW.inc()


def crm_gate(settings: Settings) -> StateGate:

    return StateGate(NAME, [wiring.state_marker(settings, "crm")], settings.state_wait_limit())


def state_plan(settings: Settings) -> StatePlan:
    """The stage reads the CRM mirror, so it waits while crm-sync rebuilds it."""
    return StatePlan(gate=crm_gate(settings))


def build_step(
    settings: Settings,
    clock: Clock,
    mirror: CrmMirror | None = None,
    matcher: Matcher | None = None,
    state_gate: StateGate | None = None,
) -> BatchStep:
    """The stage's step; with the Redis mirror it holds batches while the mirror is rebuilt."""
    gate = state_gate
    if mirror is None:
        mirror = wiring.crm_mirror(settings)  # an outage raises DependencyUnavailable
        gate = gate or crm_gate(settings)
    ready_matcher = matcher or matcher_for(settings)
    ready_mirror = mirror

    def match_batch(leads: list[Lead]) -> list[Lead]:
        if gate is not None:
            gate.wait_ready()  # an empty mirror would match no lead to its account
        return match_stage(leads, matcher=ready_matcher, mirror=ready_mirror, clock=clock)

    return lead_batch_step(NAME, match_batch, clock, on_output=record_metrics)
