"""Segmentation stage: size and revenue band, vertical, seniority tier, source channel, score.

The work is done by :class:`~processors.segmentation.Segmenter` from definitions
in ``processors/segmentation/data/segments.yaml`` (overridable with
``LEADROUTE_SEGMENTS_FILE``; see docs/segmentation.md). Territories are left to
the rule engine at assign time.
"""

from __future__ import annotations

from functools import cache

from processors.models import Lead
from processors.segmentation import Segmenter, shipped_definitions


@cache
def shipped_segmenter() -> Segmenter:
    """The segmenter for the shipped definitions, built once per process."""
    return Segmenter(shipped_definitions())


def segment(lead: Lead, segmenter: Segmenter | None = None) -> Lead:
    """Return the lead with its segment section filled (shipped definitions when none is given)."""
    ready = segmenter or shipped_segmenter()
    return {**lead, "segment": dict(ready.segment(lead))}
