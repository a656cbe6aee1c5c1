"""An owner directory held in process memory: batch mode, simulations, benchmarks and tests.

The running stages read owners from Redis (``streams/adapters/redis_owners.py``,
kept by owner-sync); both implement :class:`~processors.ports.OwnerDirectory`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from processors.owners.models import Owner


class StaticOwners:
    """An :class:`~processors.ports.OwnerDirectory` over a fixed set of owners."""

    def __init__(self, owners: Mapping[str, Owner] | Sequence[Owner] = ()) -> None:
        self._owners = dict(owners) if isinstance(owners, Mapping) else {o.id: o for o in owners}

    def owners(self) -> Mapping[str, Owner]:
        return self._owners
