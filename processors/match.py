"""CRM matching stage: is this lead already known, at which account, with which open deals?

The decisions are made by :class:`~processors.crm.matcher.Matcher`; the CRM
data comes from a :class:`~processors.ports.CrmMirror` (Redis in the stream,
in memory for batch runs and tests). See ``processors/crm/``.
"""

from __future__ import annotations

from processors.crm.matcher import Matcher, match_lead
from processors.models import Lead
from processors.ports import CrmMirror


def match(lead: Lead, matcher: Matcher, mirror: CrmMirror) -> Lead:
    """Return the lead with its ``crm`` section filled."""
    return match_lead(lead, matcher, mirror)
