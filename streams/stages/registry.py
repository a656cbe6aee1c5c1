"""The stages in pipeline order, looked up by name."""

from __future__ import annotations

from types import ModuleType

from streams.stages import assign, enrich, match, normalize, segment

STAGES: dict[str, ModuleType] = {
    module.NAME: module for module in (normalize, enrich, match, segment, assign)
}


def stage_index(name: str) -> int:
    """1-based position, used for the stage's default metrics port (base + index)."""
    return list(STAGES).index(name) + 1
