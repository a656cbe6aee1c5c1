"""Whole-lead normalization: every field rule applied, problems as flags.

``normalize_lead`` is pure and total: any text in any field (or none) gives
a ``NormalizedSection``, never an exception. Problems are reported as
flags, and the raw value always survives in the lead's raw section, so
nothing upstream sent is lost.

``raw_from_normalized`` maps a section back to raw fields such that
normalizing them again gives the same section, flags included. Fields that
were present but unusable (flags ending in "_invalid" or "_unknown") come
back as the placeholder ``UNUSABLE``, which no rule accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from processors.models import NormalizedSection, RawLead
from processors.normalize.company import normalize_company
from processors.normalize.countries import country_code_for, is_country_code
from processors.normalize.emails import normalize_email
from processors.normalize.employees import employees_to_raw, parse_employees
from processors.normalize.names import normalize_name
from processors.normalize.phone import normalize_phone, phone_to_raw
from processors.normalize.postal import normalize_postal_code
from processors.normalize.source import source_for
from processors.normalize.subdivisions import (
    split_full_code,
    subdivision_code_for,
    subdivision_codes,
)
from processors.normalize.text import present
from processors.normalize.timestamps import normalize_timestamp
from processors.normalize.titles import normalize_title
from processors.normalize.website import normalize_website

#: Raised by the normalize stage, not by normalize_lead: some custom fields were
#: dropped because together they exceeded the configured size (LEADROUTE_MAX_CUSTOM_BYTES).
CUSTOM_TRUNCATED = "custom_truncated"

#: Every flag the normalized section can carry (normalize_lead raises all but CUSTOM_TRUNCATED).
FLAGS: frozenset[str] = frozenset(
    {
        CUSTOM_TRUNCATED,
        "email_missing",
        "email_invalid",
        "phone_missing",
        "phone_invalid",
        "country_unknown",
        "state_unknown",
        "company_missing",
        "website_invalid",
        "name_missing",
        "employees_invalid",
        "source_missing",
        "source_unknown",
        "submitted_at_missing",
        "submitted_at_invalid",
    }
)

T = TypeVar("T")

#: Raw stand-in for a value that was present but unusable (see module doc).
UNUSABLE = "invalid"


def _geography(
    country_text: str | None, state_text: str | None, flags: list[str]
) -> tuple[str | None, str | None]:
    """(country_code, state_code).

    The country is never guessed from a state name ("CA" may be California
    or Canada's code; enrichment decides later), but a full ISO 3166-2
    state code such as "US-CA" names its country unambiguously and fills a
    missing country.
    """
    country = country_code_for(country_text) if country_text else None
    if country_text and country is None:
        flags.append("country_unknown")
    if not state_text:
        return country, None
    state = subdivision_code_for(state_text, country) if country else None
    if state is None and (country is None or country_text is None):
        full = split_full_code(state_text)
        if full and is_country_code(full[0]) and full[1] in subdivision_codes(full[0]):
            state = full[1]
            if country_text is None:
                country = full[0]
    if state is None:
        flags.append("state_unknown")
    return country, state


def _checked(
    text: str | None,
    normalizer: Callable[[str], T | None],
    flags: list[str],
    *,
    missing: str | None = None,
    invalid: str | None = None,
) -> T | None:
    """Normalize ``text`` when present, and flag why a value is absent."""
    if text is None:
        if missing:
            flags.append(missing)
        return None
    value = normalizer(text)
    if value is None and invalid:
        flags.append(invalid)
    return value


def normalize_lead(raw: RawLead) -> NormalizedSection:
    """Normalize one raw lead; pure, deterministic, idempotent, never raises."""
    fields: Mapping[str, object] = raw if isinstance(raw, Mapping) else {}
    flags: list[str] = []

    email_text = present(fields.get("email"))
    email = _checked(email_text, normalize_email, flags, missing="email_missing", invalid="email_invalid")

    country, state = _geography(present(fields.get("country")), present(fields.get("state")), flags)

    phone_text = present(fields.get("phone"))
    phone = _checked(
        phone_text,
        lambda text: normalize_phone(text, country),
        flags,
        missing="phone_missing",
        invalid="phone_invalid",
    )
    company = _checked(
        present(fields.get("company")),
        normalize_company,
        flags,
        missing="company_missing",
        invalid="company_missing",
    )
    website = _checked(present(fields.get("website")), normalize_website, flags, invalid="website_invalid")

    first = _checked(present(fields.get("first_name")), normalize_name, flags)
    last = _checked(present(fields.get("last_name")), normalize_name, flags)
    full_name = " ".join(part for part in (first, last) if part) or None
    if full_name is None:
        flags.append("name_missing")

    title_text = present(fields.get("title"))
    postal_text = present(fields.get("postal_code"))
    employees = _checked(
        present(fields.get("employees")), parse_employees, flags, invalid="employees_invalid"
    )
    source = _checked(
        present(fields.get("source")),
        source_for,
        flags,
        missing="source_missing",
        invalid="source_unknown",
    )
    submitted_at = _checked(
        present(fields.get("submitted_at")),
        normalize_timestamp,
        flags,
        missing="submitted_at_missing",
        invalid="submitted_at_invalid",
    )

    return {
        "first_name": first,
        "last_name": last,
        "full_name": full_name,
        "title": normalize_title(title_text) if title_text else None,
        "email": email.email if email else None,
        "email_valid": email is not None,
        "email_match_key": email.match_key if email else None,
        "email_host": email.host if email else None,
        "email_domain": email.domain if email else None,
        "phone_e164": phone.e164 if phone else None,
        "phone_extension": phone.extension if phone else None,
        "phone_raw": phone_text if phone_text and phone is None else None,
        "phone_valid": phone is not None,
        "phone_region": phone.region if phone else None,
        "country_code": country,
        "state_code": state,
        "postal_code": normalize_postal_code(postal_text) if postal_text else None,
        "company_name": company.name if company else None,
        "company_match_key": company.match_key if company else None,
        "website": website.host if website else None,
        "website_domain": website.domain if website else None,
        "employees_min": employees[0] if employees else None,
        "employees_max": employees[1] if employees else None,
        "industry": present(fields.get("industry")),
        "source": source or "other",
        "submitted_at": submitted_at,
        "flags": sorted(set(flags)),
    }


def _unusable_or(value: str | None, flag: str, flags: set[str]) -> str | None:
    return UNUSABLE if value is None and flag in flags else value


def raw_from_normalized(n: NormalizedSection) -> RawLead:
    """Raw fields that normalize back to ``n`` (used to prove idempotency)."""
    flags = set(n.get("flags") or ())
    phone = None
    if e164 := n.get("phone_e164"):
        phone = phone_to_raw(e164, n.get("phone_extension"))
    elif n.get("phone_raw"):
        phone = n["phone_raw"]
    employees = None
    if (low := n.get("employees_min")) is not None:
        employees = employees_to_raw(low, n.get("employees_max"))
    source = None if "source_missing" in flags else n.get("source")
    if "source_unknown" in flags:
        source = UNUSABLE
    return {
        "email": _unusable_or(n.get("email"), "email_invalid", flags),
        "phone": phone,
        "country": _unusable_or(n.get("country_code"), "country_unknown", flags),
        "state": _unusable_or(n.get("state_code"), "state_unknown", flags),
        "postal_code": n.get("postal_code"),
        "company": n.get("company_name"),
        "website": _unusable_or(n.get("website"), "website_invalid", flags),
        "first_name": n.get("first_name"),
        "last_name": n.get("last_name"),
        "title": n.get("title"),
        "employees": _unusable_or(employees, "employees_invalid", flags),
        "industry": n.get("industry"),
        "source": source,
        "submitted_at": _unusable_or(n.get("submitted_at"), "submitted_at_invalid", flags),
    }
