"""How big the fault and volume tests run: a short form in CI, the full form on demand.

``LEADROUTE_FAULTS=full .venv/bin/pytest -m faults`` runs the full forms the
README's Reliability section describes; anything else runs the short forms.
"""

from __future__ import annotations

import os


def full() -> bool:
    return os.environ.get("LEADROUTE_FAULTS", "short").strip().lower() == "full"


def fault_scale(short: int, full_size: int) -> int:
    """``short`` in CI, ``full_size`` when the full fault suite was asked for."""
    return full_size if full() else short
