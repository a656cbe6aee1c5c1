"""Segmentation stage: size band, vertical, territory, seniority tier, score.

Status: segment definitions are not built yet. Leads pass through with their
``segment`` section left empty, as the README's status table says.
"""

from __future__ import annotations

from processors.models import Lead


def segment(lead: Lead) -> Lead:
    """Return the lead with its segment section (empty until segmentation lands)."""
    return lead
