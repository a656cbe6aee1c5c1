"""Assemble the enrichment section: explicit data first, inferences fill the gaps.

Precedence is fixed and simple, so "why is this lead in EMEA?" always has one
answer: an explicit value (what the form sent) is never replaced; among
inferences the phone beats the company's country domain, which beats the
firmographics headquarters country. Every disagreement with the kept value
is recorded as a conflict, and every value carries its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from processors.enrichment.emails import DomainFacts, DomainLists, domain_facts
from processors.enrichment.geography import CCTLD_CONFIDENCE, country_from_domain
from processors.enrichment.models import (
    EMAIL_DOMAIN,
    EXPLICIT,
    PHONE,
    TITLE,
    WEBSITE,
    Conflict,
    EnrichmentSection,
    FirmographicsRecord,
    Lookup,
    Provenance,
    firmographics_source,
)
from processors.enrichment.phones import PhoneFacts, load_metadata, phone_facts, reparse_national
from processors.enrichment.regions import RegionMap
from processors.enrichment.titles import TitleClassifier
from processors.models import Lead, NormalizedSection
from processors.ports import FirmographicsProvider

#: The section's fields, in schema order.
SECTION_FIELDS: tuple[str, ...] = tuple(EnrichmentSection.__annotations__)

#: Every flag the enrich stage can raise, for rule authors and dashboards.
FLAGS: frozenset[str] = frozenset(
    {
        "conflict:country_code",
        "conflict:state_code",
        "conflict:employees",
        "country_unknown",
        "region_unmapped",
        "company_domain_missing",
        "phone_reparsed",
        "title_unclassified",
        "firmographics_unavailable",
        "firmographics_rate_limited",
        "firmographics_circuit_open",
    }
)
_OUTAGE_FLAGS = {
    "unavailable": "firmographics_unavailable",
    "rate_limited": "firmographics_rate_limited",
    "circuit_open": "firmographics_circuit_open",
}
#: A company domain taken from the website the lead typed, or from the email's host.
_DOMAIN_CONFIDENCE = {WEBSITE: 0.95, EMAIL_DOMAIN: 0.9}
#: The headquarters country is where the company is, not the person: the weakest hint.
_HQ_CONFIDENCE = 0.5
_FIRMOGRAPHICS_CONFIDENCE = 0.8


class Candidate(NamedTuple):
    """One source's opinion on a field."""

    value: str
    source: str
    confidence: float


@dataclass(slots=True)
class _Draft:
    """The section under construction, with its provenance and conflicts."""

    values: dict[str, object] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    def put(self, name: str, value: object, source: str, confidence: float) -> None:
        self.values[name] = value
        if value is not None and value != []:
            self.provenance[name] = {"source": source, "confidence": round(confidence, 3)}

    def decide(
        self, name: str, candidates: list[Candidate], *, conflicting: frozenset[str]
    ) -> Candidate | None:
        """Keep the first candidate (they come in precedence order); record disagreements.

        Only sources in ``conflicting`` can raise a conflict: the headquarters
        country differing from the lead's is normal, not a contradiction.
        """
        if not candidates:
            self.values[name] = None
            return None
        kept = candidates[0]
        self.put(name, kept.value, kept.source, kept.confidence)
        for other in candidates[1:]:
            if other.value != kept.value and other.source in conflicting:
                self.conflicts.append(
                    {
                        "field": name,
                        "value": kept.value,
                        "source": kept.source,
                        "other_value": other.value,
                        "other_source": other.source,
                    }
                )
                self.flags.add(f"conflict:{name}")
        return kept


_COUNTRY_CONFLICTS = frozenset({EXPLICIT, PHONE, WEBSITE, EMAIL_DOMAIN})
_STATE_CONFLICTS = frozenset({EXPLICIT, PHONE})


@dataclass(frozen=True, slots=True)
class Enricher:
    """Everything enrichment knows besides the lead: mappings, vocabulary, lists, a provider."""

    regions: RegionMap
    titles: TitleClassifier
    lists: DomainLists = field(default_factory=DomainLists)
    firmographics: FirmographicsProvider | None = None

    def __post_init__(self) -> None:
        load_metadata()  # at start-up, so the first lead does not wait ~0.4 s for the phone data

    def clear_caches(self) -> None:
        """Forget memoised look-ups, so a benchmark measures cold work, not cache hits."""
        phone_facts.cache_clear()
        reparse_national.cache_clear()
        country_from_domain.cache_clear()
        self.titles.cache_clear()

    def enrich(self, lead: Lead) -> Lead:
        """The lead with its ``enrichment`` section filled; never raises for odd data."""
        normalized = lead.get("normalized")
        if normalized is None:
            return lead
        return {**lead, "enrichment": dict(self.section(normalized))}

    def section(self, n: NormalizedSection) -> EnrichmentSection:
        draft = _Draft()
        domains = domain_facts(
            email=n.get("email"),
            email_host=n.get("email_host"),
            email_domain=n.get("email_domain"),
            website_domain=n.get("website_domain"),
            lists=self.lists,
        )
        self._domains(draft, domains)
        record, lookup_outcome = self._firmographics(draft, domains.company_domain)

        phone = phone_facts(n["phone_e164"]) if n.get("phone_e164") else None
        country = self._country(draft, n, phone, domains, record)
        if phone is None and n.get("phone_raw") and country and country.source != EXPLICIT:
            reparsed = reparse_national(n["phone_raw"], country.value)
            if reparsed is not None:
                phone = phone_facts(reparsed)
                draft.flags.add("phone_reparsed")
        self._phone(draft, phone, country, reparse_confidence=country.confidence if country else 1.0)
        draft.values["phone_valid"] = (
            phone is not None if (n.get("phone_e164") or n.get("phone_raw")) else None
        )
        state = self._state(draft, n, phone, country)
        draft.put("postal_code", n.get("postal_code"), EXPLICIT, 1.0)
        self._region(draft, country, state)
        self._company(draft, n, record, lookup_outcome)
        self._title(draft, n.get("title"))
        return self._finish(draft)

    # -- pieces -------------------------------------------------------------

    @staticmethod
    def _domains(draft: _Draft, facts: DomainFacts) -> None:
        draft.values["email_domain"] = facts.email_domain
        draft.values["website_domain"] = facts.website_domain
        draft.values["email_is_free_mail"] = facts.free_mail
        draft.values["email_is_disposable"] = facts.disposable
        draft.values["email_is_role"] = facts.role
        if facts.company_domain is None:
            draft.values["company_domain"] = None
            draft.flags.add("company_domain_missing")
            return
        source = facts.company_domain_source or EMAIL_DOMAIN
        draft.put("company_domain", facts.company_domain, source, _DOMAIN_CONFIDENCE[source])

    def _firmographics(
        self, draft: _Draft, domain: str | None
    ) -> tuple[FirmographicsRecord | None, str | None]:
        if self.firmographics is None:
            return None, None
        if domain is None:
            return None, "no_domain"
        lookup: Lookup = self.firmographics.lookup(domain)
        if lookup.outcome in _OUTAGE_FLAGS:
            draft.flags.add(_OUTAGE_FLAGS[lookup.outcome])
        return (lookup.record if lookup.outcome == "found" else None), lookup.outcome

    def _country(
        self,
        draft: _Draft,
        n: NormalizedSection,
        phone: PhoneFacts | None,
        domains: DomainFacts,
        record: FirmographicsRecord | None,
    ) -> Candidate | None:
        candidates: list[Candidate] = []
        if country_code := n.get("country_code"):
            candidates.append(Candidate(country_code, EXPLICIT, 1.0))
        if phone is not None and phone.country_code:
            candidates.append(Candidate(phone.country_code, PHONE, phone.country_confidence))
        if domains.company_domain:
            hinted = country_from_domain(domains.company_domain)
            if hinted:
                source = domains.company_domain_source or EMAIL_DOMAIN
                candidates.append(Candidate(hinted, source, CCTLD_CONFIDENCE))
        if record is not None and record["hq_country_code"] and self.firmographics is not None:
            source = firmographics_source(self.firmographics.name)
            candidates.append(Candidate(record["hq_country_code"], source, _HQ_CONFIDENCE))
        kept = draft.decide("country_code", candidates, conflicting=_COUNTRY_CONFLICTS)
        if kept is None:
            draft.flags.add("country_unknown")
        return kept

    @staticmethod
    def _phone(
        draft: _Draft, phone: PhoneFacts | None, country: Candidate | None, *, reparse_confidence: float
    ) -> None:
        """Phone facts; time zones only when the number is in the lead's country."""
        if phone is None:
            for name in (
                "phone_e164",
                "phone_country_code",
                "phone_line_type",
                "phone_locality",
                "time_zone",
            ):
                draft.values[name] = None
            draft.values["time_zones"] = []
            return
        scale = reparse_confidence if "phone_reparsed" in draft.flags else 1.0
        draft.put("phone_e164", phone.e164, PHONE if scale < 1 else EXPLICIT, scale)
        draft.put("phone_country_code", phone.country_code, PHONE, phone.country_confidence * scale)
        draft.put("phone_line_type", phone.line_type, PHONE, 1.0 * scale)
        draft.put("phone_locality", phone.locality, PHONE, (phone.state_confidence or 0.6) * scale)
        in_country = country is None or phone.country_code == country.value
        zones = list(phone.time_zones) if in_country else []
        draft.put("time_zones", zones, PHONE, phone.country_confidence * scale)
        single = zones[0] if len(zones) == 1 else None
        draft.put("time_zone", single, PHONE, phone.country_confidence * scale)

    @staticmethod
    def _state(
        draft: _Draft, n: NormalizedSection, phone: PhoneFacts | None, country: Candidate | None
    ) -> Candidate | None:
        candidates: list[Candidate] = []
        if state_code := n.get("state_code"):
            candidates.append(Candidate(state_code, EXPLICIT, 1.0))
        if (
            phone is not None
            and phone.state_code
            and country is not None
            and phone.country_code == country.value
        ):
            confidence = min(phone.state_confidence, country.confidence)
            candidates.append(Candidate(phone.state_code, PHONE, confidence))
        return draft.decide("state_code", candidates, conflicting=_STATE_CONFLICTS)

    def _region(self, draft: _Draft, country: Candidate | None, state: Candidate | None) -> None:
        """Region from the kept geography; its provenance is the geography's own."""
        draft.values["region"] = draft.values["sub_region"] = None
        if country is None:
            return
        subdivision = state.value.split("-", 1)[-1] if state else None  # the map names "CA", not "US-CA"
        placement = self.regions.place(country.value, subdivision)
        if placement is None:
            draft.flags.add("region_unmapped")
            return
        decided_by = state if placement.matched == "state" and state is not None else country
        confidence = min(decided_by.confidence, country.confidence)
        draft.put("region", placement.region, decided_by.source, confidence)
        draft.put("sub_region", placement.sub_region, decided_by.source, confidence)

    def _company(
        self,
        draft: _Draft,
        n: NormalizedSection,
        record: FirmographicsRecord | None,
        outcome: str | None,
    ) -> None:
        draft.values["firmographics_status"] = outcome
        source = firmographics_source(self.firmographics.name) if self.firmographics else ""
        found: FirmographicsRecord | dict[str, Any] = record or {}

        def explicit_or_found(name: str, explicit: object, found_value: object) -> None:
            if explicit is not None:
                draft.put(name, explicit, EXPLICIT, 1.0)
            elif found_value is not None:
                draft.put(name, found_value, source, _FIRMOGRAPHICS_CONFIDENCE)
            else:
                draft.values[name] = None

        explicit_or_found("company_name", n.get("company_name"), found.get("company_name"))
        explicit_or_found("industry", n.get("industry"), found.get("industry"))
        employees = found.get("employees")
        low, high = n.get("employees_min"), n.get("employees_max")
        explicit_or_found("employees_min", low, employees)
        explicit_or_found("employees_max", high if low is not None else None, employees)
        if low is not None and employees is not None and not low <= employees <= (high or employees):
            draft.conflicts.append(
                {
                    "field": "employees",
                    "value": f"{low}-{high}" if high is not None else f"{low}+",
                    "source": EXPLICIT,
                    "other_value": str(employees),
                    "other_source": source,
                }
            )
            draft.flags.add("conflict:employees")
        draft.values["annual_revenue"] = None
        if found.get("annual_revenue") is not None:
            draft.put("annual_revenue", found["annual_revenue"], source, _FIRMOGRAPHICS_CONFIDENCE)
        draft.values["hq_country_code"] = None
        if found.get("hq_country_code"):
            draft.put("hq_country_code", found["hq_country_code"], source, _FIRMOGRAPHICS_CONFIDENCE)

    def _title(self, draft: _Draft, title: str | None) -> None:
        draft.values["seniority"] = draft.values["function"] = None
        draft.values["functions"] = []
        if not title:
            return
        found = self.titles.classify(title)
        if found is None:
            draft.flags.add("title_unclassified")
            return
        draft.put("seniority", found.seniority, TITLE, found.confidence)
        draft.put("function", found.function, TITLE, found.confidence)
        draft.put("functions", list(found.functions), TITLE, found.confidence)

    @staticmethod
    def _finish(draft: _Draft) -> EnrichmentSection:
        section = {name: draft.values.get(name) for name in SECTION_FIELDS}
        section["time_zones"] = draft.values.get("time_zones") or []
        section["functions"] = draft.values.get("functions") or []
        section["provenance"] = draft.provenance
        section["conflicts"] = draft.conflicts
        section["flags"] = sorted(draft.flags)
        return cast(EnrichmentSection, section)
