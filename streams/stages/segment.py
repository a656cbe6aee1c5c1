"""segment: leads.matched → leads.segmented.

Passes leads through with the section empty until segmentation lands.
"""

from __future__ import annotations

from processors.pipeline import segment_stage
from processors.ports import Clock
from streams import topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step

NAME = "segment"
INPUT = topics.MATCHED
OUTPUT = topics.SEGMENTED


def build_step(settings: Settings, clock: Clock) -> StageStep:
    return lead_step(NAME, lambda lead: segment_stage(lead, clock=clock), clock)
