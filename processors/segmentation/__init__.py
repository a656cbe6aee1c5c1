"""Segmentation: size and revenue bands, vertical, seniority tier, source channel and score.

Definitions are data (``data/segments.yaml``, documented in docs/segmentation.md),
overlaid by the user's file; :mod:`.loader` validates them, :class:`.Segmenter`
applies them to a lead. Pure: no I/O besides reading the shipped package file.
"""

from __future__ import annotations

from functools import cache

from processors.segmentation.definitions import SegmentDefinitions
from processors.segmentation.loader import load_definitions, shipped_definitions
from processors.segmentation.segmenter import Segmenter, SegmentSection

__all__ = [
    "SegmentDefinitions",
    "SegmentSection",
    "Segmenter",
    "load_definitions",
    "shipped_definitions",
    "shipped_segmenter",
]


@cache
def shipped_segmenter() -> Segmenter:
    """The segmenter for the shipped definitions, built once per process."""
    return Segmenter(shipped_definitions())
