"""Durations in the rule file: ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or whole seconds."""

from __future__ import annotations

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(value: str | int | None) -> int:
    """Seconds in a schema-valid duration; ``None`` and ``0`` mean off (0)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value[:-1]) * _UNITS[value[-1]]
