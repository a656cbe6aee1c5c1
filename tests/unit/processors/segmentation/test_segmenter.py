"""The segmenter with the shipped definitions: bands, verticals, tiers, channels, segments, schema."""

from __future__ import annotations

from typing import Any

import fastavro.validation
import pytest

from processors.crm.matcher import Matcher, match_lead
from processors.crm.memory import InMemoryCrmMirror
from processors.enrichment.titles import SENIORITIES
from processors.intake import raw_lead_from_json
from processors.lead import new_lead
from processors.models import SOURCES
from processors.normalize import lead_id_for, normalize_lead
from processors.pipeline import segment_stage
from processors.ports import FrozenClock
from processors.segmentation import Segmenter, shipped_definitions, shipped_segmenter
from processors.segmentation.bands import Band, Bands, size_basis
from schemas import parsed
from streams.demo.synthetic import generate
from tests.support.builders import shipped_enricher


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return shipped_segmenter()


def lead(
    normalized: dict[str, Any] | None = None,
    enrichment: dict[str, Any] | None = None,
    crm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "lead_id": "lr_1",
        "received_at_ms": 0,
        "raw": {},
        "normalized": normalized,
        "enrichment": enrichment,
        "crm": crm,
        "segment": None,
        "trace": [],
    }


# --- size bands ---------------------------------------------------------------------------------

SIZE_BOUNDARIES = [
    (0, None),
    (1, "micro"),
    (9, "micro"),
    (10, "smb"),
    (199, "smb"),
    (200, "mid_market"),
    (999, "mid_market"),
    (1000, "enterprise"),
    (2_000_000, "enterprise"),
]


@pytest.mark.parametrize(("employees", "band"), SIZE_BOUNDARIES)
def test_size_band_at_every_boundary(segmenter: Segmenter, employees: int, band: str | None) -> None:
    found = segmenter.segment(lead({"employees_min": employees, "employees_max": employees}))
    assert found["size_band"] == band


@pytest.mark.parametrize(
    ("low", "high", "band"),
    [
        (1, 10, "micro"),  # midpoint 5
        (11, 50, "smb"),
        (51, 200, "smb"),  # straddles smb/mid_market: midpoint 125
        (150, 250, "mid_market"),  # midpoint 200: mid_market's first value
        (150, 249, "smb"),  # midpoint 199.5, rounded down
        (201, 500, "mid_market"),
        (501, 1000, "mid_market"),  # midpoint 750
        (800, 1200, "enterprise"),  # midpoint 1000
        (1001, 5000, "enterprise"),
        (10_001, None, "enterprise"),  # open range: its lower bound
        (5, None, "micro"),
        (None, 300, "mid_market"),  # only an upper bound: that bound
    ],
)
def test_a_range_is_banded_by_its_midpoint(
    segmenter: Segmenter, low: int | None, high: int | None, band: str
) -> None:
    assert segmenter.segment(lead({"employees_min": low, "employees_max": high}))["size_band"] == band


def test_size_basis_rounds_the_midpoint_down() -> None:
    assert size_basis(199, 200) == 199
    assert size_basis(None, None) is None


def test_the_leads_own_employees_win_over_enrichment(segmenter: Segmenter) -> None:
    found = lead({"employees_min": 5, "employees_max": 5}, {"employees_min": 5000, "employees_max": 5000})
    assert segmenter.segment(found)["size_band"] == "micro"
    found = lead(
        {"employees_min": None, "employees_max": None}, {"employees_min": 5000, "employees_max": None}
    )
    assert segmenter.segment(found)["size_band"] == "enterprise"


@pytest.mark.parametrize(
    ("revenue", "band"),
    [
        (0, "under_1m"),
        (999_999.99, "under_1m"),  # cents are dropped
        (1_000_000, "1m_10m"),
        (9_999_999, "1m_10m"),
        (10_000_000.0, "10m_50m"),
        (49_999_999, "10m_50m"),
        (50_000_000, "50m_250m"),
        (249_999_999, "50m_250m"),
        (250_000_000, "250m_1b"),
        (999_999_999.5, "250m_1b"),
        (1_000_000_000, "over_1b"),
        (-5, None),
        (float("nan"), None),
        (float("inf"), None),
        (None, None),
    ],
)
def test_revenue_band_at_every_boundary(
    segmenter: Segmenter, revenue: float | None, band: str | None
) -> None:
    assert segmenter.segment(lead(None, {"annual_revenue": revenue}))["revenue_band"] == band


def test_bands_outside_a_capped_last_band_get_none() -> None:
    bands = Bands([Band("a", 10, 19), Band("b", 20, 29)])
    assert [bands.band_of(v) for v in (9, 10, 29, 30, True)] == [None, "a", "b", None, None]


def test_missing_sections_leave_everything_empty_but_the_version(segmenter: Segmenter) -> None:
    found = segmenter.segment(lead())
    assert {k: v for k, v in found.items() if k not in ("score", "segmenter_version")} == {
        "size_band": None,
        "revenue_band": None,
        "vertical": None,
        "region": None,
        "territory": None,
        "seniority_tier": None,
        "source_channel": None,
        "score_breakdown": [],
        "segments": [],
    }
    assert found["score"] == 0
    assert found["segmenter_version"] == segmenter.version


# --- verticals ----------------------------------------------------------------------------------

VERTICALS = [
    ("Software", "technology"),
    ("computer SOFTWARE", "technology"),
    ("Information Technology and Services", "technology"),
    ("Information Technology & Services", "technology"),
    ("IT Services & Consulting", "technology"),  # two words beat "consulting"
    ("Computer & Network Security", "technology"),
    ("SaaS", "technology"),
    ("Banking", "financial_services"),
    ("Banks", "financial_services"),
    ("Investment Banking", "financial_services"),
    ("Insurance", "financial_services"),
    ("Financial Services", "financial_services"),
    ("Banking Software", "technology"),  # a whole word beats a * keyword
    ("Hospital & Health Care", "healthcare_life_sciences"),
    ("Pharmaceuticals", "healthcare_life_sciences"),
    ("Biotechnology", "healthcare_life_sciences"),
    ("Médical Devices", "healthcare_life_sciences"),  # accents do not matter
    ("Automotive", "manufacturing"),
    ("Mechanical or Industrial Engineering", "manufacturing"),
    ("E-Commerce", "retail_consumer"),
    ("Food & Beverages", "retail_consumer"),
    ("Oil & Energy", "energy_utilities"),
    ("Oil and Gas", "energy_utilities"),
    ("Government Administration", "public_sector"),
    ("Higher Education", "education"),
    ("E-Learning", "education"),
    ("Telecommunications", "media_telecom"),
    ("Marketing & Advertising", "media_telecom"),
    ("Management Consulting", "professional_services"),
    ("Law Practice", "professional_services"),
    ("Staffing and Recruiting", "professional_services"),
    ("Real Estate", "real_estate_construction"),
    ("Construction", "real_estate_construction"),
    ("Logistics and Supply Chain", "transportation_logistics"),
    ("Airlines/Aviation", "transportation_logistics"),
    ("Hospitality", "travel_hospitality"),
    ("Non-Profit Organization Management", "nonprofit"),
    ("Bankruptcy Law", "financial_services"),  # known edge: "bank*" matches any word starting with bank
    ("Farming", "other"),
    ("   ", None),
    ("&&", None),
]


@pytest.mark.parametrize(("industry", "vertical"), VERTICALS)
def test_vertical_from_industry_text(segmenter: Segmenter, industry: str, vertical: str | None) -> None:
    assert segmenter.segment(lead({"industry": industry}))["vertical"] == vertical


def test_whole_word_keywords_do_not_match_inside_words(segmenter: Segmenter) -> None:
    assert segmenter.segment(lead({"industry": "Datatech"}))["vertical"] == "other"  # not "data", not "tech"
    assert segmenter.segment(lead({"industry": "Big Data"}))["vertical"] == "technology"


def test_the_leads_own_industry_wins_over_enrichment(segmenter: Segmenter) -> None:
    found = lead({"industry": "Banking"}, {"industry": "Software"})
    assert segmenter.segment(found)["vertical"] == "financial_services"
    assert segmenter.segment(lead({"industry": None}, {"industry": "Software"}))["vertical"] == "technology"
    assert segmenter.segment(lead({"industry": None}, {"industry": None}))["vertical"] is None


# --- seniority tiers and source channels --------------------------------------------------------

TIERS = {
    "owner": "executive",
    "c_level": "executive",
    "vp": "executive",
    "head": "senior_management",
    "director": "senior_management",
    "manager": "management",
    "senior_ic": "individual_contributor",
    "ic": "individual_contributor",
    "intern": "entry_level",
}


def test_every_seniority_has_a_tier() -> None:
    assert set(TIERS) == set(SENIORITIES)
    assert dict(shipped_definitions().seniority_tiers) == TIERS


@pytest.mark.parametrize(("seniority", "tier"), [*TIERS.items(), (None, None), ("unknown", None)])
def test_seniority_tier(segmenter: Segmenter, seniority: str | None, tier: str | None) -> None:
    assert segmenter.segment(lead(None, {"seniority": seniority}))["seniority_tier"] == tier


CHANNELS = {
    "web": "inbound",
    "chat": "inbound",
    "list_import": "outbound_list",
    "manual": "sales_sourced",
    "partner": "partner",
    "event": "event",
    "api": "integration",
    "other": "other",
}


def test_every_source_has_a_channel() -> None:
    assert set(CHANNELS) == set(SOURCES)
    assert dict(shipped_definitions().source_channels) == CHANNELS


@pytest.mark.parametrize(("source", "channel"), CHANNELS.items())
def test_source_channel(segmenter: Segmenter, source: str, channel: str) -> None:
    assert segmenter.segment(lead({"source": source}))["source_channel"] == channel


# --- the whole section --------------------------------------------------------------------------


def test_segments_name_every_value_and_region_is_copied(segmenter: Segmenter) -> None:
    found = segmenter.segment(
        lead(
            {"employees_min": 1200, "employees_max": 1200, "industry": "Software", "source": "web"},
            {"region": "EMEA", "seniority": "vp", "annual_revenue": 2e8},
        )
    )
    assert found["region"] == "EMEA" and found["territory"] is None
    assert found["segments"] == [
        "size:enterprise",
        "revenue:50m_250m",
        "vertical:technology",
        "region:EMEA",
        "seniority:executive",
        "channel:inbound",
    ]


def test_the_segment_stage_fills_the_section_stamps_the_lead_and_keeps_the_rest(segmenter: Segmenter) -> None:
    before = lead({"industry": "Software", "source": "web"})
    after = segment_stage(before, segmenter=segmenter, clock=FrozenClock(7))  # type: ignore[arg-type]
    assert before["segment"] is None  # not mutated
    assert after["segment"] == dict(segmenter.segment(before))  # type: ignore[arg-type]
    assert after["trace"][-1]["stage"] == "segment"
    assert {k: v for k, v in after.items() if k not in ("segment", "trace")} == {
        k: v for k, v in before.items() if k not in ("segment", "trace")
    }


def test_odd_values_never_raise(segmenter: Segmenter) -> None:
    odd = lead(
        {"employees_min": "12", "employees_max": True, "industry": 42, "source": ["web"]},
        {"annual_revenue": "lots", "seniority": {"x": 1}, "region": "  "},
        {"account": "not a mapping", "has_open_opportunity": "yes"},
    )
    found = segmenter.segment(odd)  # type: ignore[arg-type]
    assert found["size_band"] is None and found["vertical"] is None and found["region"] is None


def _routed_leads(count: int) -> list[dict[str, Any]]:
    enricher, matcher, mirror = shipped_enricher("dataset"), Matcher(), InMemoryCrmMirror()
    leads = []
    for message in generate(count, seed=11, invalid_share=0, garbage_share=0):
        assert message.payload is not None
        raw = raw_lead_from_json(message.payload)
        item = new_lead(lead_id_for(raw), raw, received_at_ms=1)
        item["normalized"] = normalize_lead(raw)
        item = match_lead(enricher.enrich(item), matcher, mirror)
        leads.append({**item, "segment": dict(shipped_segmenter().segment(item))})
    return leads


def test_segmented_leads_validate_against_the_schemas() -> None:
    segment_schema, lead_schema = parsed("Segment"), parsed("Lead")
    leads = _routed_leads(200)
    for item in leads:
        assert fastavro.validation.validate(item["segment"], segment_schema)
        assert fastavro.validation.validate(item, lead_schema)
    assert any(item["segment"]["size_band"] for item in leads)
    assert any(item["segment"]["vertical"] not in (None, "other") for item in leads)
    assert any(item["segment"]["score_breakdown"] for item in leads)
