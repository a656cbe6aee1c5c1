"""match: leads.enriched → leads.matched.

Passes leads through with the section empty until matching lands.
"""

from __future__ import annotations

from processors.pipeline import match_stage
from processors.ports import Clock
from streams import topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step

NAME = "match"
INPUT = topics.ENRICHED
OUTPUT = topics.MATCHED


def build_step(settings: Settings, clock: Clock) -> StageStep:
    return lead_step(NAME, lambda lead: match_stage(lead, clock=clock), clock)
