"""The enrichment section: precedence, provenance, conflicts, and provider outages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from processors.enrichment.enricher import FLAGS, Enricher
from processors.enrichment.firmographics import DatasetFirmographics, parse_dataset
from processors.enrichment.models import Lookup
from processors.lead import new_lead
from processors.normalize import normalize_lead
from tests.support.builders import shipped_enricher

ENRICHER = shipped_enricher()
DATASET = DatasetFirmographics(
    "acme-data",
    parse_dataset(
        "domain,company_name,employees,annual_revenue,industry,hq_country_code\n"
        "acme.io,Acme Inc,5000,1200000000,Software,US\n"
        "globex.de,Globex GmbH,300,45000000,Manufacturing,DE\n",
        "firms.csv",
    ),
)
WITH_DATA = replace(ENRICHER, firmographics=DATASET)


def enriched(enricher: Enricher = ENRICHER, **raw: Any) -> dict[str, Any]:
    lead = new_lead("lead-1", raw, received_at_ms=0)
    lead["normalized"] = normalize_lead(raw)
    section = enricher.enrich(lead)["enrichment"]
    assert section is not None
    return section


def test_a_uk_phone_places_a_lead_with_no_country_in_emea_from_the_phone() -> None:
    section = enriched(email="jane@acme.io", phone="+44 20 7946 0958")
    assert (section["country_code"], section["region"], section["sub_region"]) == ("GB", "EMEA", "UK&I")
    assert section["provenance"]["country_code"]["source"] == "phone"
    assert section["provenance"]["region"]["source"] == "phone"
    assert section["time_zone"] == "Europe/London"
    assert section["phone_locality"] == "London"
    assert section["phone_line_type"] == "fixed_line"


def test_sr_vp_global_sales_at_acme_io_is_a_vp_in_sales() -> None:
    section = enriched(email="jane@acme.io", title="Sr. VP, Global Sales")
    assert (section["seniority"], section["function"]) == ("vp", "sales")
    assert section["company_domain"] == "acme.io"
    assert section["provenance"]["seniority"]["source"] == "title"


def test_a_gmail_lead_gets_no_company_domain_from_its_email() -> None:
    section = enriched(email="jane.doe@gmail.com", company="Acme")
    assert section["email_is_free_mail"] is True
    assert section["company_domain"] is None
    assert "company_domain" not in section["provenance"]
    assert "company_domain_missing" in section["flags"]


def test_an_explicit_country_is_kept_and_a_disagreeing_phone_is_a_conflict() -> None:
    section = enriched(email="jane@acme.io", country="United States", phone="+49 30 123456")
    assert section["country_code"] == "US"
    assert section["provenance"]["country_code"] == {"source": "explicit", "confidence": 1.0}
    assert section["conflicts"] == [
        {
            "field": "country_code",
            "value": "US",
            "source": "explicit",
            "other_value": "DE",
            "other_source": "phone",
        }
    ]
    assert "conflict:country_code" in section["flags"]
    assert section["phone_country_code"] == "DE"
    assert section["time_zones"] == []  # a German number says nothing about a US lead's hours
    assert section["region"] == "AMER"


def test_agreeing_sources_raise_no_conflict() -> None:
    section = enriched(email="jane@acme.de", country="DE", phone="+49 30 123456")
    assert section["conflicts"] == [] and not any(f.startswith("conflict:") for f in section["flags"])


def test_an_area_code_fills_the_state_and_the_state_decides_the_sub_region() -> None:
    section = enriched(email="jane@acme.io", phone="+1 415 555 2671")
    assert (section["country_code"], section["state_code"]) == ("US", "US-CA")
    assert section["provenance"]["state_code"]["source"] == "phone"
    assert section["region"] == "AMER" and section["sub_region"] == "US West"
    assert section["provenance"]["sub_region"]["source"] == "phone"


def test_an_explicit_state_beats_the_area_code_and_the_disagreement_is_recorded() -> None:
    section = enriched(email="jane@acme.io", country="US", state="NY", phone="+1 415 555 2671")
    assert section["state_code"] == "US-NY"
    assert [c["field"] for c in section["conflicts"]] == ["state_code"]
    assert section["sub_region"] == "US East"


def test_a_country_domain_hints_the_country_when_nothing_stronger_exists() -> None:
    section = enriched(email="hans@globex.de")
    assert section["country_code"] == "DE"
    assert section["provenance"]["country_code"] == {"source": "email_domain", "confidence": 0.6}
    assert section["sub_region"] == "DACH"


def test_a_national_phone_is_read_once_the_country_is_inferred() -> None:
    section = enriched(email="jane@acme.co.uk", phone="020 7946 0958")
    assert section["country_code"] == "GB"
    assert "phone_reparsed" in section["flags"]
    assert (section["phone_e164"], section["phone_valid"]) == ("+442079460958", True)
    assert section["provenance"]["phone_e164"]["source"] == "phone"
    assert section["phone_line_type"] == "fixed_line" and section["time_zone"] == "Europe/London"
    assert section["provenance"]["phone_line_type"]["confidence"] < 1


def test_firmographics_fill_company_facts_with_their_provenance() -> None:
    section = enriched(WITH_DATA, email="jane@acme.io", title="CTO")
    assert section["firmographics_status"] == "found"
    assert (section["company_name"], section["employees_min"], section["employees_max"]) == (
        "Acme Inc",
        5000,
        5000,
    )
    assert section["annual_revenue"] == 1.2e9 and section["industry"] == "Software"
    assert section["hq_country_code"] == "US"
    assert section["provenance"]["company_name"]["source"] == "firmographics:acme-data"
    # The headquarters is the weakest hint for the lead's own country, but better than none.
    assert section["country_code"] == "US"
    assert section["provenance"]["country_code"]["source"] == "firmographics:acme-data"


def test_explicit_company_facts_win_over_firmographics_and_disagreements_are_kept() -> None:
    section = enriched(WITH_DATA, email="jane@acme.io", company="ACME", employees="11-50", industry="Tech")
    assert section["company_name"] == "ACME" and section["industry"] == "Tech"
    assert (section["employees_min"], section["employees_max"]) == (11, 50)
    assert section["provenance"]["employees_min"]["source"] == "explicit"
    assert {"field": "employees", "value": "11-50", "source": "explicit", "other_value": "5000",
            "other_source": "firmographics:acme-data"} in section["conflicts"]  # fmt: skip


def test_the_headquarters_country_never_conflicts_with_the_leads_country() -> None:
    section = enriched(WITH_DATA, email="jane@acme.io", country="GB")
    assert section["country_code"] == "GB" and section["hq_country_code"] == "US"
    assert section["conflicts"] == []


class Down:
    name = "down"

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def lookup(self, domain: str) -> Lookup:
        return Lookup(self.outcome, detail="test outage")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "flag"),
    [
        ("unavailable", "firmographics_unavailable"),
        ("rate_limited", "firmographics_rate_limited"),
        ("circuit_open", "firmographics_circuit_open"),
    ],
)
def test_a_provider_outage_lets_the_lead_through_with_a_flag(outcome: str, flag: str) -> None:
    section = enriched(
        replace(ENRICHER, firmographics=Down(outcome)), email="jane@acme.io", phone="+4930123456"
    )
    assert section["firmographics_status"] == outcome
    assert flag in section["flags"]
    assert section["country_code"] == "DE"  # everything else is still inferred


def test_no_company_domain_means_no_lookup() -> None:
    section = enriched(replace(ENRICHER, firmographics=Down("unavailable")), email="jane@gmail.com")
    assert section["firmographics_status"] == "no_domain"
    assert "firmographics_unavailable" not in section["flags"]


def test_without_a_provider_the_status_is_null() -> None:
    assert enriched(email="jane@acme.io")["firmographics_status"] is None


def test_unknown_titles_and_countries_are_flagged_not_guessed() -> None:
    section = enriched(email="jane@acme.com", title="Wizard of Light Bulb Moments")
    assert section["seniority"] is None and "title_unclassified" in section["flags"]
    assert section["country_code"] is None and "country_unknown" in section["flags"]
    assert section["region"] is None


@pytest.mark.parametrize(("phone", "valid"), [("+44 20 7946 0958", True), ("12345", False), (None, None)])
def test_phone_validity_after_enrichment(phone: str | None, valid: bool | None) -> None:
    raw = {"email": "jane@acme.com"} | ({"phone": phone} if phone else {})
    assert enriched(**raw)["phone_valid"] is valid


def test_postal_code_is_kept_for_territory_rules() -> None:
    section = enriched(email="jane@acme.com", country="US", postal_code="94105-1234")
    assert section["postal_code"] == enriched(email="a@b.com", postal_code="94105-1234")["postal_code"]
    assert section["postal_code"] and section["provenance"]["postal_code"]["source"] == "explicit"


def test_every_flag_raised_is_documented() -> None:
    samples = [
        enriched(email="jane@gmail.com", title="Wizard"),
        enriched(email="jane@acme.io", country="US", phone="+49 30 123456"),
        enriched(email="jane@acme.co.uk", phone="020 7946 0958"),
        enriched(replace(ENRICHER, firmographics=Down("circuit_open")), email="jane@acme.io"),
    ]
    raised = {flag for section in samples for flag in section["flags"]}
    assert raised <= FLAGS


def test_every_inferred_value_has_provenance_with_a_confidence() -> None:
    section = enriched(WITH_DATA, email="jane@acme.io", phone="+1 415 555 2671", title="VP Marketing")
    for name in ("country_code", "state_code", "region", "sub_region", "time_zone", "company_domain",
                 "company_name", "seniority", "function", "phone_line_type"):  # fmt: skip
        provenance = section["provenance"][name]
        assert provenance["source"] and 0 < provenance["confidence"] <= 1, name
