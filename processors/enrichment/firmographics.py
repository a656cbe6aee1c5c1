"""Firmographics providers that need no network: a local dataset, and a cache in front of any provider.

The local dataset format (CSV, UTF-8, header row required, one row per
registrable domain; column order free, unknown columns ignored):

====================  ========================================================
column                meaning
====================  ========================================================
``domain``            registrable domain, e.g. ``acme.co.uk`` (required)
``company_name``      display name
``employees``         head count, a whole number ("1200" or "1,200")
``annual_revenue``    yearly revenue in US dollars, a number
``industry``          industry label, free text
``hq_country_code``   ISO 3166-1 alpha-2 of the headquarters, e.g. ``GB``
====================  ========================================================
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping

from processors.config import ConfigError
from processors.enrichment.models import ANSWERS, FirmographicsRecord, Lookup
from processors.normalize.countries import is_country_code
from processors.ports import FirmographicsCache, FirmographicsProvider

DATASET_COLUMNS: tuple[str, ...] = (
    "domain",
    "company_name",
    "employees",
    "annual_revenue",
    "industry",
    "hq_country_code",
)


def _number(text: str, kind: type[int] | type[float]) -> int | float | None:
    cleaned = text.replace(",", "").replace("_", "").strip()
    if not cleaned:
        return None
    value = float(cleaned)
    if value < 0 or not math.isfinite(value):
        raise ValueError(text)
    return int(value) if kind is int else value


def parse_dataset(text: str, source: str) -> dict[str, FirmographicsRecord]:
    """Read a dataset in the documented CSV format; refuse it whole on the first bad row.

    A half-loaded dataset would make enrichment silently patchy, so a bad
    row is a :class:`ConfigError` naming the line and the column to fix.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    if "domain" not in header:
        raise ConfigError(source, 1, "the header row has no 'domain' column; see the documented columns")
    reader.fieldnames = header
    records: dict[str, FirmographicsRecord] = {}
    for row in reader:
        line = reader.line_num
        domain = (row.get("domain") or "").strip().lower().removeprefix("www.")
        if not domain or "." not in domain:
            raise ConfigError(source, line, f"'{domain}' is not a domain; write it like acme.co.uk")
        if domain in records:
            raise ConfigError(source, line, f"domain {domain} appears twice; keep one row per domain")
        try:
            employees = _number(row.get("employees") or "", int)
        except ValueError:
            raise ConfigError(source, line, "employees must be a whole number such as 1200") from None
        try:
            revenue = _number(row.get("annual_revenue") or "", float)
        except ValueError:
            raise ConfigError(source, line, "annual_revenue must be a number in US dollars") from None
        country = (row.get("hq_country_code") or "").strip().upper() or None
        if country is not None and not is_country_code(country):
            raise ConfigError(source, line, f"hq_country_code {country} is not ISO 3166-1 alpha-2 (e.g. GB)")
        records[domain] = {
            "domain": domain,
            "company_name": (row.get("company_name") or "").strip() or None,
            "employees": int(employees) if employees is not None else None,
            "annual_revenue": float(revenue) if revenue is not None else None,
            "industry": (row.get("industry") or "").strip() or None,
            "hq_country_code": country,
        }
    return records


class DatasetFirmographics:
    """A :class:`FirmographicsProvider` over a dataset held in memory."""

    def __init__(self, name: str, records: Mapping[str, FirmographicsRecord]) -> None:
        self.name = name
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def lookup(self, domain: str) -> Lookup:
        record = self._records.get(domain)
        if record is None:
            return Lookup("not_found")
        return Lookup("found", record)


class CachedFirmographics:
    """Any provider with a cache in front: answers are remembered, outages never are."""

    def __init__(self, provider: FirmographicsProvider, cache: FirmographicsCache) -> None:
        self.name = provider.name
        self._provider = provider
        self._cache = cache

    def lookup(self, domain: str) -> Lookup:
        cached = self._cache.get(self.name, domain)
        if cached is not None:
            return cached
        answer = self._provider.lookup(domain)
        if answer.outcome in ANSWERS:
            self._cache.put(self.name, domain, answer)
        return answer
