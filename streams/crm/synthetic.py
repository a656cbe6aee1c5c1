"""A synthetic CRM as messy as a real one, for the demo, benchmarks and matcher tests.

What makes CRM matching hard is all here on purpose: subsidiaries with their
own country domains under a parent account, accounts with alternate domains
(acme.co.uk next to acme.com), look-alike companies that share a word but
nothing else ("Brightwave Mining" next to "Brightwave Analytics Inc."), a few
accounts with hundreds of contacts and most with a handful, contacts with
free-mail addresses, CRM leads that duplicate contacts, and open and closed
opportunities. Every company the demo's leads work at
(:func:`streams.demo.synthetic.companies`) is an account with the same name and
domain, so demo leads find their account.

Speed matters (a million accounts for a benchmark mirror), so the name
generator only seeds word pools once; each record is then built from the pools with one
seeded :class:`random.Random`. The same seed always gives the same CRM:
dates are relative to a fixed reference day, never to today.
"""

from __future__ import annotations

import bisect
import itertools
import random
import unicodedata
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker

from processors.crm.models import RECORD_KINDS, Account, Opportunity, Person, RecordKind
from processors.normalize.company import normalize_company
from processors.normalize.countries import country_code_for
from processors.normalize.emails import normalize_email
from processors.normalize.names import normalize_name
from processors.normalize.phone import normalize_phone
from processors.normalize.text import present
from processors.normalize.website import normalize_website
from streams.crm.csv_records import FILE_NAMES, WRITTEN_COLUMNS, csv_row
from streams.csv_safe import SafeWriter
from streams.demo.synthetic import (
    COMPANY_INDUSTRIES,
    FREE_MAIL,
    LOCALES,
    SyntheticCompany,
    companies,
    generate,
)

#: Owners are CRM user ids; ~40 reps is a mid-size sales team.
OWNERS: tuple[str, ...] = tuple(f"owner-{number:02d}" for number in range(1, 41))
#: "Now" for every generated date, so a seed always gives the same CRM.
REFERENCE_DAY = date(2026, 1, 1)
_REFERENCE_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
_DAY_MS = 86_400_000

COUNTRY_TLD: dict[str, str] = {
    "US": "com",
    "GB": "co.uk",
    "DE": "de",
    "FR": "fr",
    "CA": "ca",
    "AU": "com.au",
    "IN": "in",
    "BR": "com.br",
    "JP": "co.jp",
    "ES": "es",
    "NL": "nl",
    "IT": "it",
    "CH": "ch",
    "SE": "se",
    "PL": "pl",
    "IE": "ie",
}
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "US": ("Inc.", "LLC", "Corp.", "Inc."),
    "GB": ("Ltd", "Ltd", "PLC", "LLP"),
    "DE": ("GmbH", "GmbH", "AG", "KG"),
    "FR": ("SAS", "SA", "SARL"),
    "CA": ("Inc.", "Ltd."),
    "AU": ("Pty Ltd",),
    "IN": ("Pvt Ltd", "Limited"),
    "BR": ("Ltda.", "S.A."),
    "JP": ("K.K.", "Co., Ltd."),
    "ES": ("S.L.", "S.A."),
    "NL": ("B.V.", "N.V."),
    "IT": ("S.r.l.", "S.p.A."),
    "CH": ("AG", "GmbH", "SA"),
    "SE": ("AB",),
    "PL": ("Sp. z o.o.", "S.A."),
    "IE": ("Ltd", "DAC"),
}
#: How a subsidiary in each country is usually named after its parent.
COUNTRY_WORD: dict[str, str] = {
    "US": "USA",
    "GB": "UK",
    "DE": "Deutschland",
    "FR": "France",
    "CA": "Canada",
    "AU": "Australia",
    "IN": "India",
    "BR": "Brasil",
    "JP": "Japan",
    "ES": "España",
    "NL": "Nederland",
    "IT": "Italia",
    "CH": "Schweiz",
    "SE": "Sverige",
    "PL": "Polska",
    "IE": "Ireland",
}
# fmt: off
_PREFIXES = (
    "Bright", "Blue", "North", "South", "East", "West", "Silver", "Iron", "Clear", "Swift", "Green",
    "Red", "Summit", "Nova", "Alpha", "Prime", "True", "Open", "Deep", "High", "Star", "Sun", "Cloud",
    "Stone", "River", "Lake", "Oak", "Pine", "Cedar", "Maple", "Golden", "Crystal", "Rapid", "Bold",
    "Quantum", "Vector", "Pixel", "Data", "Signal", "Core", "Apex", "Zen", "Terra", "Aqua", "Sky",
    "Fire", "Frost", "Storm", "Wind", "Light", "Dark", "White", "Black", "Grey", "Copper", "Cobalt",
    "Amber", "Jade", "Ruby", "Onyx", "Titan", "Atlas", "Orbit", "Polar", "Metro", "Urban", "Rural",
    "Harbor", "Coast", "Valley", "Ridge", "Meadow", "Forest", "Desert", "Island", "Canyon", "Delta",
    "Echo", "Fusion", "Helix", "Ion", "Kinetic", "Lumen", "Magna", "Nimbus", "Omni", "Pulse", "Radiant",
    "Sonic", "Tidal", "Ultra", "Vivid", "Wild", "Young", "Zeal", "Arc", "Beacon", "Crest", "Dune",
    "Ember", "Flux", "Glen", "Haven", "Inland", "Keystone", "Lattice", "Mosaic", "Noble", "Pioneer",
    "Quest", "Royal", "Sterling", "Trinity", "Union", "Vista", "Willow", "Yonder", "Birch", "Falcon",
)
_SUFFIXES = (
    "wave", "stone", "field", "bridge", "point", "line", "works", "gate", "path", "core", "port",
    "view", "light", "forge", "leaf", "rock", "ridge", "spark", "wood", "well", "mark", "way", "hub",
    "scape", "shift", "sight", "span", "stack", "stream", "tide", "tree", "vale", "ware", "wing",
    "yard", "bay", "beam", "bloom", "bound", "brook", "burst", "cast", "crest", "dale", "dock",
    "fall", "fire", "flow", "fold", "ford", "frame", "glow", "grid", "grove", "haven", "hill",
    "hold", "horn", "keep", "land", "lane", "link", "loop", "mill", "mind", "mount", "nest", "peak",
    "pine", "quay", "rise", "road", "root", "sail", "sea", "shore", "side", "sky", "smith", "sound",
    "spire", "spring", "star", "step", "storm", "sun", "tech", "ton", "top", "tower", "trail",
    "vault", "vine", "wall", "water", "worth", "craft", "logic", "metrics", "nova", "pulse", "labs",
)
#: Sector word in a company name → the industry label an account with it carries.
_SECTORS: dict[str, str] = {
    "Systems": "Software", "Analytics": "Software", "Software": "Software", "Labs": "Software",
    "Networks": "Telecommunications", "Telecom": "Telecommunications", "Wireless": "Telecommunications",
    "Logistics": "Logistics", "Shipping": "Logistics", "Freight": "Logistics", "Mobility": "Logistics",
    "Mining": "Energy", "Energy": "Energy", "Power": "Energy", "Solar": "Energy", "Oil": "Energy",
    "Foods": "Retail", "Brands": "Retail", "Outfitters": "Retail", "Markets": "Retail",
    "Capital": "Financial Services", "Finance": "Financial Services", "Insurance": "Financial Services",
    "Payments": "Financial Services", "Bank": "Financial Services",
    "Health": "Healthcare", "Medical": "Healthcare", "Pharma": "Healthcare", "Therapeutics": "Healthcare",
    "Media": "Media", "Studios": "Media", "Publishing": "Media", "Interactive": "Media",
    "Learning": "Education", "Academy": "Education",
    "Industries": "Manufacturing", "Engineering": "Manufacturing", "Metals": "Manufacturing",
    "Chemicals": "Manufacturing", "Materials": "Manufacturing", "Motors": "Manufacturing",
    "Robotics": "Manufacturing", "Textiles": "Manufacturing", "Packaging": "Manufacturing",
    "Group": "", "Holdings": "", "Partners": "", "Solutions": "", "Technologies": "", "Ventures": "",
}
# fmt: on
_SECTOR_NAMES = tuple(_SECTORS)
ACCOUNT_TYPES = ("customer", "customer", "prospect", "prospect", "prospect", "partner", "former customer")
LEAD_STATUSES = ("new", "new", "working", "nurturing", "qualified", "unqualified")
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation")
CLOSED_STAGES = ("Closed Won", "Closed Lost")
_EMAIL_PATTERNS = ("{f}.{l}", "{f}.{l}", "{f0}{l}", "{f}", "{f}_{l}", "{l}.{f}")
_TRANSLITERATE = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "ł": "l", "đ": "d", "œ": "oe", "ı": "i"})


@cache
def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, for email locals and domain labels."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _country_shares() -> tuple[tuple[str, ...], tuple[float, ...]]:
    return tuple(locale.split("_")[1] for locale, _, _ in LOCALES), tuple(share for _, _, share in LOCALES)


class _Random(random.Random):
    """``random.Random`` with a faster uniform pick; a million accounts make millions of picks."""

    def pick(self, items: Sequence[Any]) -> Any:
        return items[int(self.random() * len(items))]


@dataclass(frozen=True, slots=True)
class _People:
    """Name pools of one country: (display, ascii) pairs."""

    first: tuple[tuple[str, str], ...]
    last: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every word pool the generator draws from; built once per seed by the seeded name generator."""

    people: dict[str, _People]
    surnames: tuple[tuple[str, str], ...]  # Latin-script surnames for company names
    phone_prefixes: dict[str, tuple[str, ...]]  # E.164 without the last four digits


def _name_pool(draw: Any, count: int) -> tuple[tuple[str, str], ...]:
    seen: dict[str, tuple[str, str]] = {}
    for _ in range(count * 3):
        display, ascii_form = draw()
        cleaned = present(display)
        if cleaned is None or normalize_name(cleaned) != display or len(ascii_form) < 2:
            continue
        seen.setdefault(display, (display, ascii_form))
        if len(seen) >= count:
            break
    return tuple(seen.values())


def _phone_prefixes(region: str, rng: random.Random, wanted: int = 120) -> tuple[str, ...]:
    """E.164 prefixes such that any last four digits make a valid number in ``region``."""
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    ]
    found: dict[str, None] = {}
    for attempt in range(wanted * 20):
        example = examples[attempt % 2]
        if example is None:
            continue
        national = phonenumbers.national_significant_number(example)
        keep = 3 if len(national) > 8 else 2
        middle = "".join(str(rng.randrange(10)) for _ in range(len(national) - keep - 4))
        prefix = f"+{example.country_code}{national[:keep]}{middle}"
        if all(normalize_phone(f"{prefix}{suffix}", None) is not None for suffix in ("0000", "9999", "5173")):
            found.setdefault(prefix, None)
            if len(found) >= wanted:
                break
    return tuple(found)


@cache
def vocabulary(seed: int) -> Vocabulary:
    """Word pools for ``seed``: a few thousand name-generator calls, once."""
    rng = random.Random(seed * 104_729)
    people: dict[str, _People] = {}
    surnames: list[tuple[str, str]] = []
    prefixes: dict[str, tuple[str, ...]] = {}
    for locale, _, _ in LOCALES:
        country = locale.split("_")[1]
        faker = Faker(locale)
        faker.seed_instance(seed)
        if locale == "ja_JP":
            first = _name_pool(lambda f=faker: (f.first_name(), _ascii(f.first_romanized_name())), 150)
            last = _name_pool(lambda f=faker: (f.last_name(), _ascii(f.last_romanized_name())), 200)
        else:
            first = _name_pool(lambda f=faker: (name := f.first_name(), _ascii(name)), 200)
            last = _name_pool(lambda f=faker: (name := f.last_name(), _ascii(name)), 300)
            surnames.extend(pair for pair in last if " " not in pair[0] and "-" not in pair[0])
        people[country] = _People(first, last)
        prefixes[country] = _phone_prefixes(country, rng)
    return Vocabulary(people, tuple(dict.fromkeys(surnames)), prefixes)


@dataclass
class _Family:
    """What later records of an account need to know about it."""

    account: Account
    base: str  # the distinctive part of the name ("Brightwave")
    slug: str  # its domain label ("brightwave")
    email_pattern: str
    #: False for a demo company's label, which may not make registrable domains ("de" of de.com).
    plain_slug: bool = True


@dataclass
class _State:
    rng: _Random
    words: Vocabulary
    taken: set[str] = field(default_factory=set)
    counters: dict[str, Iterator[int]] = field(
        default_factory=lambda: {prefix: itertools.count(1) for prefix in ("acc", "con", "lead", "opp")}
    )
    countries: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()  # cumulative
    owners: tuple[str, ...] = OWNERS

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counters[prefix]):07d}"

    def country(self) -> str:
        index = bisect.bisect(self.weights, self.rng.random() * self.weights[-1])
        return self.countries[min(index, len(self.countries) - 1)]

    def owner(self) -> str:
        """A few reps own far more than the rest, as in any team."""
        owners = self.owners
        if self.rng.random() < 0.3:
            return owners[min(int(self.rng.paretovariate(1.2)) - 1, len(owners) - 1)]
        return owners[self.rng.randrange(len(owners))]

    def claim(self, domain: str, *, check: bool = False) -> bool:
        """Reserve ``domain`` for one company; ``check`` also makes sure it is registrable as it is.

        Only domains built from a demo company's domain need the check: "de.com"
        is itself a public suffix, and its "subsidiary" domains may be too.
        """
        if domain in self.taken:
            return False
        if check:
            parsed = normalize_website(domain)
            if parsed is None or parsed.domain != domain:
                return False
        self.taken.add(domain)
        return True


def _tld(state: _State, country: str) -> str:
    return "com" if state.rng.random() < 0.6 else COUNTRY_TLD[country]


def _account(
    state: _State,
    *,
    name: str,
    domains: list[str],
    country: str,
    employees: int | None,
    industry: str | None,
    parent_id: str | None = None,
    owner_id: str | None = None,
) -> Account:
    rng = state.rng
    # Most companies are small: log10(size) is skewed, about one in eight has 1,000 or more.
    size = employees if employees is not None else int(10 ** min(0.7 + rng.expovariate(1 / 1.1), 5.5))
    activity = _REFERENCE_MS - int(rng.expovariate(1 / 120) * _DAY_MS) if rng.random() < 0.85 else None
    website = f"www.{domains[0]}" if domains and rng.random() < 0.8 else None
    return Account(
        id=state.next_id("acc"),
        name=name,
        domains=domains,
        website=website,
        owner_id=owner_id if owner_id is not None else (state.owner() if rng.random() < 0.93 else None),
        parent_id=parent_id,
        employees=size if rng.random() < 0.9 else None,
        industry=industry or None,
        country_code=country,
        type=rng.pick(ACCOUNT_TYPES) if rng.random() < 0.9 else None,
        tier="Enterprise" if size >= 2000 else "Mid-Market" if size >= 200 else "SMB",
        last_activity_ms=max(activity, 0) if activity is not None else None,
    )


def _new_company(state: _State, country: str) -> tuple[str, str, str, str, str | None] | None:
    """(name, base, slug, domain, sector word) of a company nobody has yet; None on a collision."""
    rng, words = state.rng, state.words
    legal = rng.pick(LEGAL_FORMS[country])
    sector = rng.pick(_SECTOR_NAMES)
    roll = rng.random()
    if roll < 0.45:
        base = rng.pick(_PREFIXES) + rng.pick(_SUFFIXES)
        label = _ascii(base)
        if rng.random() < 0.5:
            name, sector = f"{base} {legal}", ""
            slugs: tuple[str, ...] = (label, f"{label}hq", f"{label}group")
        else:
            name = f"{base} {sector} {legal}"
            slugs = (label, label + _ascii(sector), f"{label}-{_ascii(sector)}")
    elif roll < 0.75:
        base, ascii_base = rng.pick(words.surnames)
        name = f"{base} {sector} {legal}"
        slugs = (ascii_base + _ascii(sector), f"{ascii_base}-{_ascii(sector)}")
    else:
        (one, ascii_one), (two, ascii_two) = rng.pick(words.surnames), rng.pick(words.surnames)
        if one == two:
            return None
        base = f"{one} & {two}"
        name = f"{base} {legal}"
        slugs = (ascii_one + ascii_two, f"{ascii_one}-{ascii_two}", f"{ascii_one}and{ascii_two}")
        sector = ""
    tld = _tld(state, country)
    for slug in slugs:
        if state.claim(f"{slug}.{tld}"):
            return name, base, slug, f"{slug}.{tld}", sector or None
    return None


def _alternates(state: _State, slug: str, primary: str, country: str, *, check: bool) -> list[str]:
    """Other country domains and old brands of one company: acme.co.uk next to acme.com."""
    rng = state.rng
    options = [
        f"{slug}.{tld}" for tld in ("com", COUNTRY_TLD[rng.pick(state.countries)], COUNTRY_TLD[country])
    ]
    options += [f"{slug}group.com", f"get{slug}.com", f"{slug}.io", f"{slug}-{country.lower()}.com"]
    found = []
    for domain in rng.sample(options, k=len(options)):
        if domain != primary and state.claim(domain, check=check):
            found.append(domain)
            if len(found) >= rng.pick((1, 1, 2, 3)):
                break
    return found


def _subsidiaries(state: _State, family: _Family, budget: int) -> list[_Family]:
    """Country subsidiaries under ``family``'s account, each with its own country domain."""
    rng = state.rng
    parent = family.account
    found: list[_Family] = []
    for country in rng.sample(state.countries, k=min(budget, rng.randint(1, 5))):
        if country == parent["country_code"]:
            continue
        domain = f"{family.slug}.{COUNTRY_TLD[country]}"
        if not state.claim(domain, check=not family.plain_slug):
            domain = f"{family.slug}-{_ascii(COUNTRY_WORD[country])}.com"
            if not state.claim(domain, check=not family.plain_slug):
                continue
        name = f"{family.base} {COUNTRY_WORD[country]} {LEGAL_FORMS[country][0]}"
        owner = parent["owner_id"] if rng.random() < 0.5 else None
        account = _account(
            state,
            name=name,
            domains=[domain],
            country=country,
            employees=max(5, (parent["employees"] or 500) // rng.randint(5, 40)),
            industry=parent["industry"],
            parent_id=parent["id"],
            owner_id=owner,
        )
        found.append(_Family(account, family.base, family.slug, family.email_pattern, family.plain_slug))
    return found


def _look_alike(state: _State, family: _Family) -> _Family | None:
    """A different company sharing the distinctive word: "Brightwave Mining" next to "Brightwave Inc."."""
    rng = state.rng
    sector = rng.pick(_SECTOR_NAMES)
    if sector in family.account["name"]:
        return None
    country = state.country()
    slug = f"{family.slug}{_ascii(sector)}"
    domain = f"{slug}.{_tld(state, country)}"
    if not state.claim(domain, check=not family.plain_slug):
        return None
    account = _account(
        state,
        name=f"{family.base} {sector} {rng.pick(LEGAL_FORMS[country])}",
        domains=[domain],
        country=country,
        employees=None,
        industry=_SECTORS[sector] or rng.pick(COMPANY_INDUSTRIES),
    )
    return _Family(account, family.base, slug, rng.pick(_EMAIL_PATTERNS))


def _person(
    state: _State,
    kind: RecordKind,
    country: str,
    *,
    domain: str | None,
    pattern: str,
    account_id: str | None = None,
    company: str | None = None,
    owner_id: str | None = None,
    status: str | None = None,
) -> Person:
    """A contact or lead with a name from ``country``; the email is at ``domain`` or a free-mail one.

    The hottest function here (several per account): draws are inlined.
    """
    draw = state.rng.random
    pool = state.words.people[country]
    first, first_ascii = pool.first[int(draw() * len(pool.first))]
    last, last_ascii = pool.last[int(draw() * len(pool.last))]
    email: str | None
    if domain is None or draw() < 0.07:
        number = int(draw() * 100) if draw() < 0.5 else ""
        email = f"{first_ascii}.{last_ascii}{number}@{FREE_MAIL[int(draw() * len(FREE_MAIL))]}"
    elif draw() < 0.97:
        email = pattern.format(f=first_ascii, l=last_ascii, f0=first_ascii[0]) + "@" + domain
    else:
        email = None
    phone = None
    if draw() < 0.6:
        prefixes = state.words.phone_prefixes[country]
        phone = f"{prefixes[int(draw() * len(prefixes))]}{int(draw() * 10_000):04d}"
    person: Person = {  # a literal: twice as fast as Person(...) with keywords
        "id": state.next_id("con" if kind == "contact" else "lead"),
        "kind": kind,  # type: ignore[typeddict-item]
        "email": email,
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "company": company,
        "account_id": account_id,
        "owner_id": owner_id,
        "status": status,
    }
    return person


def _contact_count(rng: random.Random, employees: int | None) -> int:
    roll = rng.random()
    big = (employees or 0) >= 1000
    if roll < 0.002 or (big and roll < 0.02):
        return 60 + int(rng.random() * 341)  # the key accounts everyone works
    if roll < 0.06:
        return 6 + int(rng.random() * 20)
    if roll < 0.3:
        return 3 + int(rng.random() * 3)
    if roll < 0.75:
        return 1 + int(roll * 100) % 2
    return 0


#: Close dates as text, by days from the reference day: formatting a date per deal is slow.
_CLOSE_DATES: dict[int, str] = {
    offset: (REFERENCE_DAY + timedelta(days=offset)).isoformat() for offset in range(-900, 201)
}


def _opportunity(state: _State, account: Account) -> Opportunity:
    rng = state.rng
    draw = rng.random
    is_open = draw() < 0.45
    if is_open:
        stage = rng.pick(OPEN_STAGES)
        close = _CLOSE_DATES[int(draw() * 220) - 20]
    else:
        stage = rng.pick(CLOSED_STAGES)
        close = _CLOSE_DATES[-1 - int(draw() * 900)]
    return Opportunity(
        id=state.next_id("opp"),
        account_id=account["id"],
        owner_id=account["owner_id"] if draw() < 0.85 else state.owner(),
        stage=stage,
        amount=float(round(rng.lognormvariate(9.8, 1.1), -2)) if draw() < 0.95 else None,
        is_open=is_open,
        close_date=close,
    )


def _family_records(state: _State, family: _Family) -> Iterator[tuple[RecordKind, Any]]:
    """The account, its contacts, its opportunities and the CRM leads about it."""
    rng = state.rng
    account = family.account
    yield "account", account
    country = account["country_code"] or "US"
    domains, owner, name = account["domains"], account["owner_id"], account["name"]
    primary = domains[0] if domains else None
    draw = rng.random
    contact: Person | None = None
    for _ in range(_contact_count(rng, account["employees"])):
        contact = _person(
            state,
            "contact",
            country,
            domain=primary if len(domains) < 2 or draw() < 0.8 else rng.pick(domains),
            pattern=family.email_pattern,
            account_id=account["id"],
            company=name if draw() < 0.3 else None,
            owner_id=owner if draw() < 0.8 else state.owner(),
        )
        yield "contact", contact
    if draw() < 0.35:
        for _ in range(rng.pick((1, 1, 1, 2, 3))):
            yield "opportunity", _opportunity(state, account)
    if draw() < 0.3:
        lead = _person(
            state,
            "lead",
            country,
            domain=primary,
            pattern=family.email_pattern,
            company=name if draw() < 0.5 else family.base,
            owner_id=state.owner() if draw() < 0.9 else None,
            status=rng.pick(LEAD_STATUSES),
        )
        if contact is not None and draw() < 0.1:
            # The same person entered again as a lead: a duplicate the matcher must see through.
            for key in ("email", "phone", "first_name", "last_name"):
                lead[key] = contact[key]
        yield "lead", lead


def _stranger_lead(state: _State) -> Iterator[tuple[RecordKind, Any]]:
    """A CRM lead at a company that is not an account (yet)."""
    country = state.country()
    company = _new_company(state, country)
    if company is None:
        return
    name, _, _, domain, _ = company
    rng = state.rng
    lead = _person(
        state,
        "lead",
        country,
        domain=domain,
        pattern=rng.pick(_EMAIL_PATTERNS),
        company=name,
        owner_id=state.owner() if rng.random() < 0.8 else None,
        status=rng.pick(LEAD_STATUSES),
    )
    yield "lead", lead


def _demo_family(state: _State, company: SyntheticCompany) -> _Family:
    normalized = normalize_company(company.name)
    name = normalized.name if normalized else company.name
    slug = company.domain.split(".", 1)[0]
    parsed = normalize_website(company.domain)
    # A demo domain that is itself a public suffix ("de.com") names no company: keep none.
    domains = [company.domain] if parsed and parsed.domain == company.domain else []
    if domains and state.rng.random() < 0.15:
        domains += _alternates(state, slug, company.domain, company.hq_country_code, check=True)
    account = _account(
        state,
        name=name,
        domains=domains,
        country=company.hq_country_code,
        employees=company.employees,
        industry=company.industry,
    )
    first_word = normalize_company(name.split(" ")[0].strip(","))
    base = first_word.name if first_word else name
    return _Family(account, base, slug, state.rng.pick(_EMAIL_PATTERNS), plain_slug=False)


def _demo_people(
    state: _State, by_domain: dict[str, Account], *, leads: int, seed: int
) -> Iterator[tuple[RecordKind, Any]]:
    """Some of the demo's own leads already in the CRM, so the demo shows duplicates being found."""
    for index, message in enumerate(generate(leads, seed=seed)):
        payload = message.payload
        if payload is None or index % 8 != 3:
            continue
        email = normalize_email(str(payload.get("email", "")))
        if email is None:
            continue
        region = country_code_for(str(payload.get("country") or "")) if payload.get("country") else None
        phone = normalize_phone(str(payload.get("phone") or ""), region) if payload.get("phone") else None
        account = by_domain.get(email.domain or "")
        kind: RecordKind = "contact" if account is not None else "lead"
        company = normalize_company(str(payload.get("company") or ""))
        first, last = present(payload.get("first_name")), present(payload.get("last_name"))
        yield (
            kind,
            Person(
                id=state.next_id("con" if kind == "contact" else "lead"),
                kind=kind,  # type: ignore[typeddict-item]
                email=email.email,
                phone=phone.e164 if phone else None,
                first_name=normalize_name(first) if first else None,
                last_name=normalize_name(last) if last else None,
                company=company.name if company and account is None else None,
                account_id=account["id"] if account else None,
                owner_id=account["owner_id"] if account else state.owner(),
                status=None if account else state.rng.pick(LEAD_STATUSES),
            ),
        )


def generate_crm(
    accounts: int,
    *,
    seed: int = 7,
    demo_seed: int = 7,
    demo_leads: int = 400,
    owners: tuple[str, ...] = OWNERS,
    demo_share: float = 1.0,
) -> Iterator[tuple[RecordKind, Any]]:
    """``accounts`` accounts with their contacts, leads and opportunities, as (kind, record).

    The demo's companies (``companies(seed=demo_seed)``) come first, as many as
    ``accounts`` allows (``demo_share`` of them: the rest stay new logos); then
    generated companies, some with subsidiaries, alternate domains and
    look-alikes. Records are owned by ``owners`` (CRM user ids) and normalized
    exactly as ``leadroute crm load`` would store them.
    """
    if not owners:
        raise ValueError("a CRM needs at least one owner")
    countries, weights = _country_shares()
    state = _State(
        _Random(seed),
        vocabulary(seed),
        countries=countries,
        weights=tuple(itertools.accumulate(weights)),
        owners=tuple(owners),
    )
    demo = companies(seed=demo_seed)
    for company in demo:
        state.taken.add(company.domain)
    made = 0
    by_domain: dict[str, Account] = {}
    # Spread evenly: company i is a customer when the running share crosses a whole number.
    included = [c for i, c in enumerate(demo) if int((i + 1) * demo_share) > int(i * demo_share)][:accounts]
    for index, company in enumerate(included):
        family = _demo_family(state, company)
        by_domain[company.domain] = family.account
        made += 1
        yield from _family_records(state, family)
        still_to_come = len(included) - index - 1
        made += yield from _relatives(state, family, accounts - made - still_to_come)
    if demo_leads:
        yield from _demo_people(state, by_domain, leads=demo_leads, seed=demo_seed)
    rng = state.rng
    while made < accounts:
        if rng.random() < 0.15:
            yield from _stranger_lead(state)
        country = state.country()
        drawn = _new_company(state, country)
        if drawn is None:
            continue
        name, base, slug, domain, sector = drawn
        domains = [domain]
        if rng.random() < 0.1:
            domains += _alternates(state, slug, domain, country, check=False)
        industry = (_SECTORS[sector] if sector else "") or rng.pick(COMPANY_INDUSTRIES)
        account = _account(
            state, name=name, domains=domains, country=country, employees=None, industry=industry
        )
        family = _Family(account, base, slug, rng.pick(_EMAIL_PATTERNS))
        made += 1
        yield from _family_records(state, family)
        made += yield from _relatives(state, family, accounts - made)


def _relatives(state: _State, family: _Family, budget: int) -> Generator[tuple[RecordKind, Any], None, int]:
    """Subsidiaries and a look-alike of ``family``, within ``budget`` accounts; returns how many."""
    rng = state.rng
    made = 0
    big = (family.account["employees"] or 0) >= 1000
    if budget > 0 and rng.random() < (0.35 if big else 0.04):
        for child in _subsidiaries(state, family, budget):
            made += 1
            yield from _family_records(state, child)
    if budget - made > 0 and rng.random() < 0.04:
        twin = _look_alike(state, family)
        if twin is not None:
            made += 1
            yield from _family_records(state, twin)
    return made


@dataclass(frozen=True, slots=True)
class WrittenFiles:
    """Where ``write_csv`` put each kind, and how many records."""

    paths: dict[RecordKind, Path]
    counts: dict[RecordKind, int]


def write_csv(directory: str | Path, records: Iterable[tuple[RecordKind, Any]]) -> WrittenFiles:
    """accounts.csv, contacts.csv, leads.csv and opportunities.csv in the documented format."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / FILE_NAMES[kind] for kind in RECORD_KINDS}
    counts = dict.fromkeys(RECORD_KINDS, 0)
    handles = {kind: path.open("w", encoding="utf-8", newline="") for kind, path in paths.items()}
    try:
        writers = {kind: SafeWriter(handle) for kind, handle in handles.items()}
        for kind, writer in writers.items():
            writer.writerow(WRITTEN_COLUMNS[kind])
        for kind, record in records:
            writers[kind].writerow(csv_row(kind, record))
            counts[kind] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return WrittenFiles(paths, counts)
