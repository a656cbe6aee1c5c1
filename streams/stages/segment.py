"""segment: leads.matched → leads.segmented.

The segmenter is built once at start-up from the shipped segment definitions
and ``LEADROUTE_SEGMENTS_FILE`` laid over them; a bad file stops the stage
before it consumes anything, with file, line and reason (docs/segmentation.md).
"""

from __future__ import annotations

from processors.models import Lead
from processors.pipeline import segment_stage
from processors.ports import Clock
from processors.segmentation import Segmenter
from streams import metrics, topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step
from streams.wiring import segmenter_for

NAME = "segment"
INPUT = topics.MATCHED
OUTPUT = topics.SEGMENTED


def record_metrics(lead: Lead) -> None:
    """Leads per size band and vertical, for the segmentation dashboard."""
    section = lead.get("segment") or {}
    metrics.SEGMENTED_LEADS.labels(
        section.get("size_band") or "none", section.get("vertical") or "none"
    ).inc()


def build_step(settings: Settings, clock: Clock, segmenter: Segmenter | None = None) -> StageStep:
    ready = segmenter or segmenter_for(settings)
    return lead_step(
        NAME, lambda lead: segment_stage(lead, segmenter=ready, clock=clock), clock, on_output=record_metrics
    )
