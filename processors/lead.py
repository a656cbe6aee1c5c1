"""Building the lead record and stamping its trace."""

from __future__ import annotations

from processors.models import Lead, RawLead


def new_lead(lead_id: str, raw: RawLead, *, received_at_ms: int) -> Lead:
    """A lead as it enters the pipeline: only the raw section is filled."""
    return {
        "lead_id": lead_id,
        "received_at_ms": received_at_ms,
        "raw": raw,
        "normalized": None,
        "enrichment": None,
        "crm": None,
        "segment": None,
        "trace": [],
    }


def stamped(lead: Lead, stage: str, at_ms: int) -> Lead:
    """The lead with one more trace entry, so each hop's latency can be measured.

    A lead that already carries this stage's stamp (fed through a stage twice,
    as batch re-routing does) keeps its first one.
    """
    if any(entry["stage"] == stage for entry in lead["trace"]):
        return lead
    return {**lead, "trace": [*lead["trace"], {"stage": stage, "at_ms": at_ms}]}
