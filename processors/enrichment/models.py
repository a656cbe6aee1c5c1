"""The enrichment section and the firmographics records behind it.

Every inferred value in the section has an entry in ``provenance`` saying
where it came from and how sure we are, so a rule (or a person reading an
assignment) can tell "the form said UK" from "the phone is +44".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

#: Sources a value can come from. Firmographics sources are "firmographics:<provider>".
EXPLICIT = "explicit"
PHONE = "phone"
EMAIL_DOMAIN = "email_domain"
WEBSITE = "website"
TITLE = "title"
REGION_MAP = "region_map"
FIRMOGRAPHICS = "firmographics"


def firmographics_source(provider: str) -> str:
    return f"{FIRMOGRAPHICS}:{provider}"


class Provenance(TypedDict):
    """Where one value came from, and how much to trust it (0–1)."""

    source: str
    confidence: float


class Conflict(TypedDict):
    """Two sources disagree; the kept value won by precedence, the other is recorded."""

    field: str
    value: str
    source: str
    other_value: str
    other_source: str


class FirmographicsRecord(TypedDict):
    """What a firmographics provider knows about the company behind a domain."""

    domain: str
    company_name: str | None
    employees: int | None
    annual_revenue: float | None
    industry: str | None
    hq_country_code: str | None


#: How a firmographics look-up ended. Only "found" and "not_found" are answers;
#: the others mean "we could not ask" and are never cached.
LookupOutcome = Literal["found", "not_found", "unavailable", "rate_limited", "circuit_open"]
ANSWERS: frozenset[str] = frozenset({"found", "not_found"})


@dataclass(frozen=True, slots=True)
class Lookup:
    """One provider answer. ``detail`` says why it failed, without personal data."""

    outcome: LookupOutcome
    record: FirmographicsRecord | None = None
    cached: bool = False
    detail: str | None = None


class EnrichmentSection(TypedDict):
    """``Lead.enrichment``: the lead's explicit data completed by inference."""

    country_code: str | None
    state_code: str | None
    postal_code: str | None
    region: str | None
    sub_region: str | None
    time_zone: str | None
    time_zones: list[str]
    phone_e164: str | None
    phone_valid: bool | None
    phone_country_code: str | None
    phone_line_type: str | None
    phone_locality: str | None
    email_domain: str | None
    website_domain: str | None
    company_domain: str | None
    email_is_free_mail: bool | None
    email_is_disposable: bool | None
    email_is_role: bool | None
    company_name: str | None
    employees_min: int | None
    employees_max: int | None
    annual_revenue: float | None
    industry: str | None
    hq_country_code: str | None
    firmographics_status: str | None
    seniority: str | None
    function: str | None
    functions: list[str]
    provenance: dict[str, Provenance]
    conflicts: list[Conflict]
    flags: list[str]
