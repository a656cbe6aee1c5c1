"""Enrichment stage: the implicit data a router needs, inferred with provenance.

The work is done by :class:`~processors.enrichment.enricher.Enricher`; see
``processors/enrichment/`` for phones, emails and domains, geography, job
titles and firmographics, one module each.
"""

from __future__ import annotations

from processors.enrichment.enricher import Enricher
from processors.models import Lead


def enrich(lead: Lead, enricher: Enricher) -> Lead:
    """Return the lead with its enrichment section filled."""
    return enricher.enrich(lead)
