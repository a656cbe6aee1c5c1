"""enrich: leads.normalized → leads.enriched.

Passes leads through with the section empty until enrichment lands.
"""

from __future__ import annotations

from processors.pipeline import enrich_stage
from processors.ports import Clock
from streams import topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step

NAME = "enrich"
INPUT = topics.NORMALIZED
OUTPUT = topics.ENRICHED


def build_step(settings: Settings, clock: Clock) -> StageStep:
    return lead_step(NAME, lambda lead: enrich_stage(lead, clock=clock), clock)
