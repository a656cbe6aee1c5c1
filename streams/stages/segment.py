"""segment: leads.matched → leads.segmented.

The segmenter is built once at start-up from the shipped segment definitions
and ``LEADROUTE_SEGMENTS_FILE`` laid over them; a bad file stops the stage
before it consumes anything, with file, line and reason (docs/segmentation.md).
"""

from __future__ import annotations

from processors.lead import stamped
from processors.models import Lead
from processors.ports import Clock
from processors.segment import segment
from processors.segmentation import Segmenter
from streams import metrics, topics
from streams.settings import Settings
from streams.stages.base import StageStep, lead_step
from streams.wiring import segmenter_for

NAME = "segment"
INPUT = topics.MATCHED
OUTPUT = topics.SEGMENTED


def _segmented(lead: Lead, segmenter: Segmenter, clock: Clock) -> Lead:
    # What processors.pipeline.segment_stage does, with this stage's segmenter; becomes
    # segment_stage(lead, segmenter=segmenter, clock=clock) once the pipeline takes one.
    return stamped(segment(lead, segmenter), NAME, clock.now_ms())


def record_metrics(lead: Lead) -> None:
    """Leads per size band and vertical, for the segmentation dashboard."""
    section = lead.get("segment") or {}
    metrics.SEGMENTED_LEADS.labels(
        section.get("size_band") or "none", section.get("vertical") or "none"
    ).inc()


def build_step(settings: Settings, clock: Clock, segmenter: Segmenter | None = None) -> StageStep:
    ready = segmenter or segmenter_for(settings)
    return lead_step(NAME, lambda lead: _segmented(lead, ready, clock), clock, on_output=record_metrics)
