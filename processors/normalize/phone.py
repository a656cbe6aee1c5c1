"""Phone numbers to E.164 with libphonenumber's metadata.

phonenumbers already understands extensions ("x123", "ext. 45", "#12"),
vanity letters (1-800-FLOWERS), punctuation and the "(0)" trunk notation;
this module only decides which default region to try and when a number is
good enough to route on (``is_valid_number``, not merely "possible").
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

#: Characters people put in front of an international "00" prefix.
_LEADING_NOISE = " ([{.-/"


class PhoneResult(NamedTuple):
    """A valid number in E.164 plus its extension and numbering region."""

    e164: str
    extension: str | None
    region: str | None


def _attempts(text: str, region: str | None) -> list[tuple[str, str | None]]:
    """(text, default region) pairs to try, most specific first.

    Without a country only international forms are trusted ("+44 ..." or
    "0044 ..."): guessing a region for "020 7946 0958" would invent data.
    A leading "00" is also retried as "+", because "00" is not the
    international prefix everywhere (it is "011" in North America).
    """
    if text[:4].casefold() == "tel:":
        text = text[4:]  # RFC 3966 URI pasted from a web page
    attempts: list[tuple[str, str | None]] = []
    stripped = text.lstrip(_LEADING_NOISE)
    if region is not None or stripped.startswith("+"):
        attempts.append((text, region))
    if stripped.startswith("00"):
        attempts.append(("+" + stripped[2:], None))
    return attempts


def _parse(text: str, region: str | None) -> PhoneResult | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return PhoneResult(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        extension=number.extension or None,
        region=phonenumbers.region_code_for_number(number),
    )


@lru_cache(maxsize=16384)
def normalize_phone(text: str, region: str | None) -> PhoneResult | None:
    """Parse ``text`` with ``region`` (ISO alpha-2) as default; None if invalid."""
    for candidate, default_region in _attempts(text, region):
        parsed = _parse(candidate, default_region)
        if parsed is not None:
            return parsed
    return None


def phone_to_raw(e164: str, extension: str | None) -> str:
    """Raw text that parses back to the same number and extension."""
    return f"{e164} ext. {extension}" if extension else e164
