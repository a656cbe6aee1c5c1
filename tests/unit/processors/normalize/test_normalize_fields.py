"""Employee counts, lead sources and submission timestamps."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "low", "high"),
    [
        ("250", 250, 250),
        ("1,000", 1000, 1000),
        ("1.000", 1000, 1000),  # German thousands separator
        ("10 000", 10000, 10000),
        ("10k", 10000, 10000),
        ("1.5k", 1500, 1500),
        ("2,5k", 2500, 2500),
        ("51-200", 51, 200),
        ("51 - 200", 51, 200),
        ("51–200", 51, 200),
        ("51 to 200", 51, 200),
        ("between 11 and 50", 11, 50),
        ("200-51", 51, 200),
        ("1-10 employees", 1, 10),
        ("11-50 Mitarbeiter", 11, 50),
        ("1,001-5,000", 1001, 5000),
        ("1000+", 1000, None),
        ("10,001+", 10001, None),
        ("10k+", 10000, None),
        ("5000 or more", 5000, None),
        (">5000", 5001, None),
        ("≥1000", 1000, None),
        ("<10", 1, 9),
        ("up to 10", 1, 10),
        ("about 250 employees", 250, 250),
        ("~300", 300, 300),
        ("c. 1,200", 1200, 1200),
        ("0", 0, 0),
    ],
)
def test_employees(raw: str, low: int, high: int | None) -> None:
    result = norm(employees=raw)
    assert (result["employees_min"], result["employees_max"]) == (low, high)
    assert "employees_invalid" not in result["flags"]


@pytest.mark.parametrize("raw", ["lots", "1.5", "<1", "50,000,000", "10-", "a few", "1" * 60])
def test_unparseable_employees_are_flagged(raw: str) -> None:
    result = norm(employees=raw)
    assert (result["employees_min"], result["employees_max"]) == (None, None)
    assert "employees_invalid" in result["flags"]


def test_missing_employees_are_not_flagged() -> None:
    assert "employees_invalid" not in norm(employees=" ")["flags"]


@pytest.mark.parametrize(
    ("raw", "source"),
    [
        ("Web", "web"),
        ("web form", "web"),
        ("Web-Form", "web"),
        ("website", "web"),
        ("Landing Page", "web"),
        ("inbound", "web"),
        ("form", "web"),
        ("manual", "manual"),
        ("Manual Entry", "manual"),
        ("sales", "manual"),
        ("CRM", "manual"),
        ("list", "list_import"),
        ("List Import", "list_import"),
        ("list_import", "list_import"),
        ("import", "list_import"),
        ("CSV", "list_import"),
        ("upload", "list_import"),
        ("trade show list", "list_import"),
        ("Tradeshow List", "list_import"),
        ("API", "api"),
        ("integration", "api"),
        ("partner", "partner"),
        ("Referral", "partner"),
        ("reseller", "partner"),
        ("event", "event"),
        ("Webinar", "event"),
        ("conference", "event"),
        ("Trade Show", "event"),
        ("tradeshow", "event"),
        ("chat", "chat"),
        ("chatbot", "chat"),
        ("Live Chat", "chat"),
        ("Drift", "chat"),
        ("Intercom", "chat"),
        ("other", "other"),
    ],
)
def test_sources(raw: str, source: str) -> None:
    result = norm(source=raw)
    assert result["source"] == source
    assert not {"source_unknown", "source_missing"} & set(result["flags"])


@pytest.mark.parametrize("raw", ["Facebook Ads", "trade show leads 2026", "webform123", "?!"])
def test_unknown_sources_are_other_and_flagged(raw: str) -> None:
    result = norm(source=raw)
    assert result["source"] == "other"
    assert "source_unknown" in result["flags"]


@pytest.mark.parametrize("raw", [None, "", "  ", "N/A"])
def test_missing_sources_are_other_and_flagged(raw: str | None) -> None:
    result = norm(source=raw)
    assert result["source"] == "other"
    assert "source_missing" in result["flags"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-24T13:05:00Z", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24 13:05:00", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24T13:05:00", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24T14:05:00+01:00", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24T08:05:00-05:00", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24T13:05:00.123456Z", "2026-11-24T13:05:00.123Z"),
        ("2026-11-24T13:05:00.9999+00:00", "2026-11-24T13:05:00.999Z"),
        ("2026-11-24 13:05:00 UTC", "2026-11-24T13:05:00.000Z"),
        ("2026-11-24", "2026-11-24T00:00:00.000Z"),
        ("2026/11/24 13:05", "2026-11-24T13:05:00.000Z"),
        ("20261124T130500Z", "2026-11-24T13:05:00.000Z"),
        ("1795957500", "2026-11-29T13:05:00.000Z"),
        ("1795957500123", "2026-11-29T13:05:00.123Z"),
        ("1795957500.5", "2026-11-29T13:05:00.500Z"),
        ("Tue, 24 Nov 2026 13:05:00 +0000", "2026-11-24T13:05:00.000Z"),
        ("Tue, 24 Nov 2026 14:05:00 +0100", "2026-11-24T13:05:00.000Z"),
        ("24 Nov 2026 13:05:00 GMT", "2026-11-24T13:05:00.000Z"),
    ],
)
def test_timestamps(raw: str, expected: str) -> None:
    result = norm(submitted_at=raw)
    assert result["submitted_at"] == expected
    assert "submitted_at_invalid" not in result["flags"]


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "24/11/2026",  # day and month order is ambiguous: rejected, not guessed
        "Nov 24 2026 1:05 PM",
        "2026-11-24T24:00:00",
        "2026-13-01",
        "12345",
        "1960-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_unparseable_timestamps_are_flagged(raw: str) -> None:
    result = norm(submitted_at=raw)
    assert result["submitted_at"] is None
    assert "submitted_at_invalid" in result["flags"]


def test_missing_timestamp_is_flagged_missing() -> None:
    result = norm(submitted_at="  ")
    assert result["submitted_at"] is None
    assert "submitted_at_missing" in result["flags"]
