"""The segmenter: a lead's enrichment and CRM facts → the segment section routing rules read.

Pure and stateless: built once from :class:`SegmentDefinitions`, then one call per
lead. Never raises on odd lead data; a value it cannot place is left None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from processors.models import Lead
from processors.segmentation.bands import Bands, size_basis
from processors.segmentation.definitions import SegmentDefinitions
from processors.segmentation.scoring import ScoreReason, score
from processors.segmentation.verticals import VerticalMap

#: Prefix of each value in ``segments``: "size:enterprise", "channel:inbound", …
SEGMENT_PREFIXES: dict[str, str] = {
    "size_band": "size",
    "revenue_band": "revenue",
    "vertical": "vertical",
    "region": "region",
    "territory": "territory",
    "seniority_tier": "seniority",
    "source_channel": "channel",
}


class SegmentSection(TypedDict):
    """``Lead.segment``: mirrors ``schemas/leadroute.Segment.avsc``."""

    size_band: str | None
    revenue_band: str | None
    vertical: str | None
    region: str | None
    territory: str | None
    seniority_tier: str | None
    source_channel: str | None
    score: int | None
    score_breakdown: list[ScoreReason]
    segments: list[str]
    segmenter_version: str


def _section(lead: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = lead.get(name)
    return found if isinstance(found, Mapping) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class Segmenter:
    """Computes the segment section of a lead from validated definitions."""

    __slots__ = ("_definitions", "_revenue", "_size", "_version", "_verticals")

    def __init__(self, definitions: SegmentDefinitions) -> None:
        self._definitions = definitions
        self._size = Bands(definitions.size_bands)
        self._revenue = Bands(definitions.revenue_bands)
        self._verticals = VerticalMap(definitions.verticals)
        self._version = definitions.version()

    @property
    def definitions(self) -> SegmentDefinitions:
        return self._definitions

    @property
    def version(self) -> str:
        """Content hash of the definitions, stamped on every section as ``segmenter_version``."""
        return self._version

    def employees(self, lead: Lead) -> int | None:
        """The headcount the size band is read from: the lead's own range first, else enrichment's."""
        for name in ("normalized", "enrichment"):
            section = _section(lead, name)
            low, high = _int(section.get("employees_min")), _int(section.get("employees_max"))
            if low is not None or high is not None:
                return size_basis(low, high)
        return None

    def industry(self, lead: Lead) -> str | None:
        """The lead's own industry text first, else the provider's."""
        return _text(_section(lead, "normalized").get("industry")) or _text(
            _section(lead, "enrichment").get("industry")
        )

    def segment(self, lead: Lead) -> SegmentSection:
        """The segment section for ``lead``; ``territory`` is left for the rule engine."""
        normalized, enrichment = _section(lead, "normalized"), _section(lead, "enrichment")
        revenue = enrichment.get("annual_revenue")
        values: dict[str, str | None] = {
            "size_band": self._size.band_of(self.employees(lead)),
            "revenue_band": self._revenue.band_of(revenue if isinstance(revenue, int | float) else None),
            "vertical": self._verticals.vertical_of(self.industry(lead))[0],
            "region": _text(enrichment.get("region")),
            "territory": None,
            "seniority_tier": self._definitions.seniority_tiers.get(_text(enrichment.get("seniority")) or ""),
            "source_channel": self._definitions.source_channels.get(_text(normalized.get("source")) or ""),
        }
        points: int | None = None
        breakdown: list[ScoreReason] = []
        if self._definitions.scoring:
            points, breakdown = score(
                {**lead, "segment": values}, self._definitions.score_rules, self._definitions.score_base
            )
        return {
            "size_band": values["size_band"],
            "revenue_band": values["revenue_band"],
            "vertical": values["vertical"],
            "region": values["region"],
            "territory": None,
            "seniority_tier": values["seniority_tier"],
            "source_channel": values["source_channel"],
            "score": points,
            "score_breakdown": breakdown,
            "segments": [f"{SEGMENT_PREFIXES[name]}:{value}" for name, value in values.items() if value],
            "segmenter_version": self._version,
        }

    def __repr__(self) -> str:
        return f"Segmenter({self._size!r}, {len(self._verticals.verticals)} verticals, {self._version})"
