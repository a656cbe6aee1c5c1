"""The stages in pipeline order, looked up by name."""

from __future__ import annotations

from types import ModuleType

from streams import topics
from streams.stages import assign, crm_sync, enrich, match, normalize, owner_sync, segment

#: Lead stages in pipeline order, then the stages that keep state current.
STAGES: dict[str, ModuleType] = {
    module.NAME: module for module in (normalize, enrich, match, segment, assign, crm_sync, owner_sync)
}
#: The five stages every lead passes through.
LEAD_STAGES: tuple[str, ...] = ("normalize", "enrich", "match", "segment", "assign")


def topics_needed(module: ModuleType) -> tuple[str, ...]:
    """Base names of the topics a stage reads or writes (DLQ included)."""
    inputs = getattr(module, "INPUTS", (module.INPUT,))
    outputs = (module.OUTPUT,) if module.OUTPUT else ()
    return (*inputs, *outputs, topics.DLQ)


def stage_index(name: str) -> int:
    """1-based position, used for the stage's default metrics port (base + index)."""
    return list(STAGES).index(name) + 1
