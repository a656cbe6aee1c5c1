"""enrich: leads.normalized → leads.enriched.

The enricher is built once at start-up from the settings (shipped reference
data, the user's overrides, the firmographics provider); a bad file stops the
stage before it consumes anything, with file, line and reason.
"""

from __future__ import annotations

from typing import cast

from processors.enrichment.enricher import Enricher
from processors.enrichment.models import EnrichmentSection
from processors.models import Lead
from processors.pipeline import enrich_stage
from processors.ports import Clock
from streams import metrics, topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step
from streams.wiring import build_enricher_for

NAME = "enrich"
INPUT = topics.NORMALIZED
OUTPUT = topics.ENRICHED


def record_metrics(lead: Lead) -> None:
    """Hit rate per field and source, and conflicts, for the enrichment dashboard."""
    found = lead.get("enrichment")
    if not found:
        return
    # The lead comes straight from this stage's enricher, which writes an EnrichmentSection.
    section = cast(EnrichmentSection, found)
    metrics.ENRICHED_LEADS.inc()
    for name, provenance in section["provenance"].items():
        metrics.ENRICHED_FIELDS.labels(name, provenance["source"]).inc()
    for conflict in section["conflicts"]:
        metrics.ENRICHMENT_CONFLICTS.labels(conflict["field"]).inc()


def build_step(settings: Settings, clock: Clock, enricher: Enricher | None = None) -> StageStep:
    ready = enricher or build_enricher_for(settings)
    return lead_step(
        NAME,
        lambda lead: enrich_stage(lead, enricher=ready, clock=clock),
        clock,
        on_output=record_metrics,
    )
