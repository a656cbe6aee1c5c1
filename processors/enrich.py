"""Enrichment stage: infers implicit data (country from phone, seniority from title…).

Status: the inference itself is not built yet. Leads pass through with their
``enrichment`` section left empty, as the README's status table says.
"""

from __future__ import annotations

from processors.models import Lead


def enrich(lead: Lead) -> Lead:
    """Return the lead with its enrichment section (empty until inference lands)."""
    return lead
