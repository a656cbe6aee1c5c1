"""Numeric bands (company size, revenue): which named band a number falls in.

Bands are whole numbers with inclusive bounds, listed smallest first with no
overlap and no gap, so every number between the first band's ``min`` and the
last band's ``max`` has exactly one band. The loader enforces that; this
module only answers look-ups.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Band:
    """One named band: ``min`` ≤ value ≤ ``max`` (``max`` None = no upper limit)."""

    name: str
    min: int
    max: int | None


class Bands:
    """Ordered, validated bands; :meth:`band_of` is a binary search."""

    __slots__ = ("_bands", "_mins")

    def __init__(self, bands: Sequence[Band]) -> None:
        """``bands`` must already be ordered and contiguous (the loader checks)."""
        self._bands = tuple(bands)
        self._mins = [band.min for band in self._bands]

    @property
    def bands(self) -> tuple[Band, ...]:
        return self._bands

    def band_of(self, value: float | None) -> str | None:
        """Name of the band holding ``value`` (fractions dropped), None outside every band."""
        if value is None or isinstance(value, bool) or not math.isfinite(value):
            return None
        whole = math.floor(value)
        at = bisect_right(self._mins, whole) - 1
        if at < 0:
            return None
        band = self._bands[at]
        return band.name if band.max is None or whole <= band.max else None

    def __bool__(self) -> bool:
        return bool(self._bands)

    def __repr__(self) -> str:
        return f"Bands({', '.join(band.name for band in self._bands)})"


def size_basis(low: int | None, high: int | None) -> int | None:
    """The one headcount a range is banded by: its midpoint, rounded down.

    "51-200" is banded as 125 and "501-1000" as 750, which puts the ranges
    LinkedIn and most forms use wholly inside one default band. An open range
    ("10000+") is banded by its lower bound; a lone bound by itself.
    """
    if low is None:
        return high
    if high is None:
        return low
    return (low + high) // 2
