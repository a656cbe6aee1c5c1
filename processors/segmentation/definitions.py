"""The segment definitions: the validated content of one or more segments files.

Plain frozen data, so a :class:`~processors.segmentation.segmenter.Segmenter`
built from it is pure and its ``version`` is a hash of exactly what decides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.segmentation.bands import Band
from processors.segmentation.scoring import Group, ScoreRule, Test
from processors.segmentation.verticals import Keyword


@dataclass(frozen=True, slots=True)
class SegmentDefinitions:
    """Bands, vertical keywords, seniority tiers, source channels and score rules."""

    size_bands: tuple[Band, ...] = ()
    revenue_bands: tuple[Band, ...] = ()
    #: vertical → its keywords, in file order
    verticals: Mapping[str, tuple[Keyword, ...]] = field(default_factory=dict)
    #: enrichment seniority (c_level, vp, …) → tier
    seniority_tiers: Mapping[str, str] = field(default_factory=dict)
    #: normalized source (web, chat, …) → channel
    source_channels: Mapping[str, str] = field(default_factory=dict)
    score_base: int = 0
    score_rules: tuple[ScoreRule, ...] = ()
    #: Whether a score is computed at all: False when no file defines a scoring section.
    scoring: bool = False

    def version(self) -> str:
        """Short content hash: two segment sections with equal versions were decided alike."""
        payload = json.dumps(_plain(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _condition(condition: Test | Group) -> Any:
    if isinstance(condition, Test):
        return [condition.field, condition.operator, condition.argument]
    return [condition.kind, [_condition(part) for part in condition.parts]]


def _plain(definitions: SegmentDefinitions) -> dict[str, Any]:
    return {
        "size_bands": [[b.name, b.min, b.max] for b in definitions.size_bands],
        "revenue_bands": [[b.name, b.min, b.max] for b in definitions.revenue_bands],
        "verticals": {name: [[k.words, k.stem] for k in kws] for name, kws in definitions.verticals.items()},
        "seniority_tiers": dict(definitions.seniority_tiers),
        "source_channels": dict(definitions.source_channels),
        "score_base": definitions.score_base,
        "scoring": definitions.scoring,
        "score_rules": [
            [rule.name, rule.points, _condition(rule.when), rule.reason] for rule in definitions.score_rules
        ],
    }
