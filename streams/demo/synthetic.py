"""Realistic, messy synthetic leads for the demo and benchmarks.

Real forms are untidy: countries typed as "UK" or "Deutschland", e-mail in
capitals with stray spaces, phones in national format, empty fields, the odd
record nobody can contact and the odd message that is not a lead at all. The
mix here is seeded so a run can be repeated.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from faker import Faker

from streams.csv_safe import SafeWriter

#: (Faker locale, ways people write the country, share of leads)
LOCALES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("en_US", ("US", "USA", "United States", "United States of America", "U.S.A.", ""), 0.30),
    ("en_GB", ("UK", "United Kingdom", "England", "GB", "Great Britain", ""), 0.12),
    ("de_DE", ("Germany", "Deutschland", "DE", "germany"), 0.09),
    ("fr_FR", ("France", "FR", "france "), 0.06),
    ("en_CA", ("Canada", "CA", "CAN"), 0.05),
    ("en_AU", ("Australia", "AU", "AUS"), 0.05),
    ("en_IN", ("India", "IN", "IND"), 0.06),
    ("pt_BR", ("Brazil", "Brasil", "BR"), 0.05),
    ("ja_JP", ("Japan", "JP", "日本"), 0.04),
    ("es_ES", ("Spain", "España", "ES"), 0.04),
    ("nl_NL", ("Netherlands", "The Netherlands", "Holland", "NL"), 0.04),
    ("it_IT", ("Italy", "Italia", "IT"), 0.03),
    ("fr_CH", ("Switzerland", "Schweiz", "Suisse", "CH"), 0.02),
    ("sv_SE", ("Sweden", "SE", "Sverige"), 0.02),
    ("pl_PL", ("Poland", "PL", "Polska"), 0.02),
    ("en_IE", ("Ireland", "IE", "Éire"), 0.01),
)
SOURCES = (
    "Web",
    "web form",
    "Website",
    "List Import",
    "csv upload",
    "Manual",
    "webinar",
    "Partner",
    "chat",
    "API",
    "",
)
TITLES = (
    "CEO",
    "Chief Technology Officer",
    "VP Sales",
    "Sr. VP, Global Sales",
    "Head of Growth",
    "Director of Marketing",
    "IT Manager",
    "Sr. Mgr., IT – EMEA",
    "Software Engineer",
    "Account Executive",
    "Marketing Coordinator",
    "CFO",
    "Geschäftsführer",
    "Directeur commercial",
    "Student",
    "Intern",
    "",
)
INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "",
)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.co.jp", "web.de")
EMPLOYEES = ("1-10", "11-50", "51-200", "201-500", "501-1,000", "1000+", "250", "12", "5000", "10k", "")


#: Industry labels of the synthetic companies (the shipped firmographics sample uses them).
COMPANY_INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Logistics",
    "Energy",
    "Telecommunications",
)
#: One company in ten is missing from the sample dataset, as with any real provider.
_DATASET_GAP = 10


@dataclass(frozen=True, slots=True)
class SyntheticCompany:
    """A company that synthetic leads work at, with the firmographics a provider would hold."""

    name: str
    domain: str
    hq_country_code: str
    employees: int
    annual_revenue: float
    industry: str
    in_dataset: bool


def companies(count: int = 400, *, seed: int = 7) -> list[SyntheticCompany]:
    """A seeded pool of companies across the demo's countries, with unique domains."""
    rng = random.Random(seed * 7919)
    fakers = {locale: Faker(locale) for locale, _, _ in LOCALES}
    for faker in fakers.values():
        faker.seed_instance(seed)
    weights = [share for _, _, share in LOCALES]
    pool: list[SyntheticCompany] = []
    seen: set[str] = set()
    while len(pool) < count:
        locale = rng.choices(LOCALES, weights)[0][0]
        faker = fakers[locale]
        domain = faker.domain_name().lower()
        if domain in seen:
            continue
        seen.add(domain)
        employees = int(10 ** rng.uniform(0.7, 5.0))
        pool.append(
            SyntheticCompany(
                name=faker.company(),
                domain=domain,
                hq_country_code=locale.split("_")[1],
                employees=employees,
                annual_revenue=float(round(employees * rng.uniform(80_000, 400_000), -3)),
                industry=rng.choice(COMPANY_INDUSTRIES),
                in_dataset=len(pool) % _DATASET_GAP != _DATASET_GAP - 1,
            )
        )
    return pool


def firmographics_csv(pool: list[SyntheticCompany]) -> str:
    """The companies a provider knows, in the dataset provider's CSV format."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writerow(("domain", "company_name", "employees", "annual_revenue", "industry", "hq_country_code"))
    for company in pool:
        if company.in_dataset:
            writer.writerow(
                (
                    company.domain,
                    company.name,
                    company.employees,
                    f"{company.annual_revenue:.0f}",
                    company.industry,
                    company.hq_country_code,
                )
            )
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class SyntheticMessage:
    """One message for leads.raw: a lead (or, rarely, something that is not one)."""

    lead_id: str | None
    payload: dict[str, Any] | None
    garbage: bytes | None = None


def _messy(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return text.upper()
    if roll < 0.25:
        return f"  {text} "
    if roll < 0.32:
        return text.lower()
    return text


def generate(
    count: int, *, seed: int = 7, invalid_share: float = 0.03, garbage_share: float = 0.01
) -> Iterator[SyntheticMessage]:
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale, _, _ in LOCALES}
    for faker in fakers.values():
        faker.seed_instance(seed)
    weights = [share for _, _, share in LOCALES]
    pool = companies(seed=seed)
    for index in range(count):
        lead_id = f"demo-{seed}-{index:07d}"
        roll = rng.random()
        if roll < garbage_share:
            yield SyntheticMessage(
                lead_id=None, payload=None, garbage=bytes(rng.randrange(256) for _ in range(24))
            )
            continue
        locale, spellings, _ = rng.choices(LOCALES, weights)[0]
        faker = fakers[locale]
        if roll < garbage_share + invalid_share:
            yield SyntheticMessage(
                lead_id, {"lead_id": lead_id, "source": "web", "title": rng.choice(TITLES)}
            )
            continue
        first, last = faker.first_name(), faker.last_name()
        employer = rng.choice(pool)
        company, domain = employer.name, employer.domain
        free_mail = rng.random() < 0.2
        local = f"{first}.{last}".lower().replace(" ", "")
        mailbox_domain = rng.choice(FREE_MAIL) if free_mail else domain
        email = f"{local}@{mailbox_domain}"
        if rng.random() < 0.04:
            email = email.replace("@", " at ")
        lead: dict[str, Any] = {
            "lead_id": lead_id,
            "source": rng.choice(SOURCES),
            "submitted_at": faker.date_time_this_month().isoformat(),
            "first_name": _messy(rng, first),
            "last_name": _messy(rng, last),
            "email": _messy(rng, email),
            "phone": faker.phone_number() if rng.random() < 0.85 else "",
            "company": _messy(rng, company),
            "title": rng.choice(TITLES),
            "website": rng.choice([f"https://www.{domain}/", domain, f"http://{domain.upper()}", ""]),
            "country": rng.choice(spellings),
            "postal_code": faker.postcode(),
            "employees": rng.choice(EMPLOYEES),
            "industry": rng.choice(INDUSTRIES),
            "consent": {"email": rng.random() < 0.7},
        }
        if rng.random() < 0.1:
            lead["utm_campaign"] = rng.choice(["spring-launch", "webinar-q3", "partner-push"])
        yield SyntheticMessage(lead_id, lead)
