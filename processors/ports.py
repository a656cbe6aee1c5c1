"""The state a processor needs, as small protocols that ``streams/`` implements."""

from __future__ import annotations

import time
from typing import Protocol

from processors.models import Assignment


class Clock(Protocol):
    """Wall-clock time in epoch milliseconds; frozen in tests."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FrozenClock:
    """A clock that only moves when told to, for tests and simulations."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, ms: int) -> None:
        self._now_ms += ms


class AssignmentStore(Protocol):
    """Remembers the first decision made for each lead id.

    ``remember`` is atomic across every assign worker: it stores ``decision`` if
    the lead has none yet and returns ``None``; otherwise it stores nothing and
    returns the decision made the first time, so a replayed lead keeps its owner.
    """

    def remember(self, lead_id: str, decision: Assignment) -> Assignment | None: ...


class InMemoryAssignmentStore:
    """An :class:`AssignmentStore` for batch mode and tests (one process only)."""

    def __init__(self) -> None:
        self._decisions: dict[str, Assignment] = {}

    def remember(self, lead_id: str, decision: Assignment) -> Assignment | None:
        existing = self._decisions.get(lead_id)
        if existing is None:
            self._decisions[lead_id] = decision
        return existing
