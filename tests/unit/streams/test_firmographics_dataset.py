"""The local dataset provider, its CSV format, the shipped sample, and the cache wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.config import ConfigError
from processors.enrichment.firmographics import CachedFirmographics, DatasetFirmographics, parse_dataset
from processors.enrichment.models import Lookup
from streams.demo.synthetic import companies, firmographics_csv
from streams.wiring import SAMPLE_DATASET, dataset_provider

GOOD = (
    "domain,company_name,employees,annual_revenue,industry,hq_country_code,notes\n"
    'acme.co.uk,"Acme, Ltd",1200,"95,000,000",Manufacturing,gb,ignored\n'
    "www.globex.com,Globex,,,,\n"
)


def test_reads_the_documented_columns() -> None:
    records = parse_dataset(GOOD, "firms.csv")
    assert records["acme.co.uk"] == {
        "domain": "acme.co.uk",
        "company_name": "Acme, Ltd",
        "employees": 1200,
        "annual_revenue": 95_000_000.0,
        "industry": "Manufacturing",
        "hq_country_code": "GB",
    }
    assert records["globex.com"]["employees"] is None  # "www." dropped, empty cells are unknown


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("company_name,employees\nAcme,3\n", 1, "no 'domain' column"),
        ("domain,employees\nacme.com,lots\n", 2, "employees must be a whole number"),
        ("domain,employees\nacme.com,-4\n", 2, "employees must be a whole number"),
        ("domain,annual_revenue\nacme.com,1\nglobex.com,n/a\n", 3, "annual_revenue must be a number"),
        ("domain,hq_country_code\nacme.com,XX\n", 2, "not ISO 3166-1 alpha-2"),
        ("domain\nacme.com\nACME.com\n", 3, "appears twice"),
        ("domain\nlocalhost\n", 2, "is not a domain"),
    ],
)
def test_a_bad_row_refuses_the_dataset_with_its_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dataset(text, "firms.csv")
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"firms.csv:{line}: ")


def test_dataset_provider_answers_found_and_not_found() -> None:
    provider = DatasetFirmographics("dataset", parse_dataset(GOOD, "firms.csv"))
    assert provider.lookup("acme.co.uk").outcome == "found"
    assert provider.lookup("initech.com") == Lookup("not_found")


def test_the_shipped_sample_is_what_the_generator_writes() -> None:
    """The demo's leads work at these companies; regenerate the file if the generator changes."""
    assert SAMPLE_DATASET.read_text(encoding="utf-8") == firmographics_csv(companies())
    provider = dataset_provider(SAMPLE_DATASET)
    pool = companies()
    assert len(provider) == sum(company.in_dataset for company in pool)
    missing = [c for c in pool if not c.in_dataset]
    assert missing and provider.lookup(missing[0].domain).outcome == "not_found"


def test_an_unreadable_dataset_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the dataset"):
        dataset_provider(tmp_path / "absent.csv")


class DictCache:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], Lookup] = {}

    def get(self, provider: str, domain: str) -> Lookup | None:
        return self.entries.get((provider, domain))

    def put(self, provider: str, domain: str, lookup: Lookup) -> None:
        self.entries[(provider, domain)] = Lookup(lookup.outcome, lookup.record, cached=True)


class Scripted:
    name = "scripted"

    def __init__(self, *answers: Lookup) -> None:
        self.answers = list(answers)
        self.calls = 0

    def lookup(self, domain: str) -> Lookup:
        self.calls += 1
        return self.answers.pop(0)


def test_the_cache_remembers_answers_and_never_outages() -> None:
    record = parse_dataset(GOOD, "f.csv")["acme.co.uk"]
    provider = Scripted(Lookup("unavailable", detail="timeout"), Lookup("found", record), Lookup("not_found"))
    cached = CachedFirmographics(provider, DictCache())
    assert cached.lookup("acme.co.uk").outcome == "unavailable"
    assert cached.lookup("acme.co.uk").outcome == "found"  # the outage was not remembered
    again = cached.lookup("acme.co.uk")
    assert (again.outcome, again.cached, provider.calls) == ("found", True, 2)
    assert cached.lookup("initech.com").outcome == "not_found"
    assert cached.lookup("initech.com").cached is True  # negative answers are cached too
    assert provider.calls == 3
