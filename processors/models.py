"""The lead record and its sections, as plain typed dicts.

Records travel between stages as Avro (see ``schemas/``); keeping them as dicts
that mirror the Avro schema means no conversion layer between the wire and the
processors, and every processor stays testable with literal dicts.
"""

from __future__ import annotations

from typing import Literal, TypedDict

#: Where a lead came from, after normalization. Anything unrecognised is ``other``.
SOURCES: tuple[str, ...] = (
    "web",
    "manual",
    "list_import",
    "api",
    "partner",
    "event",
    "chat",
    "other",
)

#: Stage names in pipeline order.
STAGES: tuple[str, ...] = ("normalize", "enrich", "match", "segment", "assign")

StageName = Literal["normalize", "enrich", "match", "segment", "assign"]


class RawLead(TypedDict, total=False):
    """A lead exactly as an upstream system sent it (the ingest contract).

    Every field is optional text: forms send what they send. ``custom`` keeps
    any field the contract does not name, so nothing upstream sent is lost.
    """

    lead_id: str | None
    source: str | None
    submitted_at: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    website: str | None
    country: str | None
    state: str | None
    postal_code: str | None
    employees: str | None
    industry: str | None
    custom: dict[str, str]
    consent: dict[str, bool]


class NormalizedSection(TypedDict):
    """Clean, canonical forms of the raw fields; filled by the normalize stage."""

    first_name: str | None
    last_name: str | None
    full_name: str | None
    title: str | None
    email: str | None
    email_valid: bool
    email_match_key: str | None
    email_host: str | None
    email_domain: str | None
    phone_e164: str | None
    phone_extension: str | None
    phone_raw: str | None
    phone_valid: bool
    phone_region: str | None
    country_code: str | None
    state_code: str | None
    postal_code: str | None
    company_name: str | None
    company_match_key: str | None
    website: str | None
    website_domain: str | None
    employees_min: int | None
    employees_max: int | None
    industry: str | None
    source: str
    submitted_at: str | None
    flags: list[str]


class StageTrace(TypedDict):
    """When a stage saw the lead; the assign stage turns these into latency."""

    stage: str
    at_ms: int


class Lead(TypedDict):
    """The one evolving record that flows from ``leads.normalized`` to ``leads.assigned``.

    ``enrichment``, ``crm`` and ``segment`` are filled by their stages; until a
    stage has run (or when it found nothing) its section is ``None``.
    """

    lead_id: str
    received_at_ms: int
    raw: RawLead
    normalized: NormalizedSection | None
    enrichment: dict[str, object] | None
    crm: dict[str, object] | None
    segment: dict[str, object] | None
    trace: list[StageTrace]


class OwnerSkip(TypedDict):
    action: str
    owner_id: str
    reason: str


class ConditionOutcome(TypedDict):
    condition: str
    seen: str | None  # the value at the field path, as JSON text
    matched: bool


class RouteTried(TypedDict):
    route: str
    matched: bool
    conditions: list[ConditionOutcome]


class DuplicateOf(TypedDict):
    """The first lead a duplicate repeats (see processors/routing/duplicates.py)."""

    lead_id: str
    matched_on: str  # email | phone | name_company
    owner_id: str | None
    routed_at_ms: int


class Assignment(TypedDict):
    """The routing decision published on ``leads.assigned`` and ``leads.assigned.<channel>``."""

    assignment_id: str
    lead_id: str
    destination_type: Literal["owner", "queue"]
    destination: str
    channel: str
    reason: str
    rules_version: str
    decided_at_ms: int
    replayed: bool
    decision_path: list[str]
    route: str | None
    action: str
    fallback_depth: int
    skips: list[OwnerSkip]
    routes_tried: list[RouteTried]
    territories: list[str]
    segments: list[str]
    sticky: bool
    is_duplicate: bool
    duplicate_of: DuplicateOf | None
    lead: Lead
