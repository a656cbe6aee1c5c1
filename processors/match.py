"""CRM matching stage: existing leads, contacts, accounts and open opportunities.

Status: matching is not built yet. Leads pass through with their ``crm``
section left empty, as the README's status table says.
"""

from __future__ import annotations

from processors.models import Lead


def match(lead: Lead) -> Lead:
    """Return the lead with its CRM section (empty until matching lands)."""
    return lead
