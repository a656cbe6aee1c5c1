"""What a phone number says about a lead: country, state, locality, time zone, line type.

libphonenumber's metadata answers all of it offline. A number is a strong
location signal for its country, a weaker one for the state (people keep
their mobile numbers when they move), and no signal at all for toll-free
or premium numbers that are reachable from a whole numbering plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from processors.normalize.subdivisions import subdivision_code_for

#: Line types under stable names; numbers the metadata cannot type are "unknown".
LINE_TYPES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
#: Numbers that do not sit anywhere: they say nothing about where the lead is.
NON_GEOGRAPHIC: frozenset[str] = frozenset(
    {"toll_free", "premium_rate", "shared_cost", "uan", "personal_number", "voip", "pager"}
)
#: Countries whose area codes map to a state or province in the geocoder data.
AREA_CODE_STATES: frozenset[str] = frozenset({"US", "CA"})
#: More zones than this means the number does not pin a time zone down.
_MAX_TIME_ZONES = 3
_UNKNOWN_ZONE = "Etc/Unknown"

#: How much a country or state read from the number is worth, by line type.
_COUNTRY_CONFIDENCE = {"fixed_line": 0.95, "fixed_line_or_mobile": 0.9, "mobile": 0.85}
_STATE_CONFIDENCE = {"fixed_line": 0.8, "fixed_line_or_mobile": 0.7, "mobile": 0.6}


def _country_confidence(line_type: str) -> float:
    if line_type in _COUNTRY_CONFIDENCE:
        return _COUNTRY_CONFIDENCE[line_type]
    return 0.5 if line_type in NON_GEOGRAPHIC else 0.7


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    """Everything inferred from one valid number."""

    e164: str
    country_code: str | None
    country_confidence: float
    line_type: str
    locality: str | None
    state_code: str | None
    state_confidence: float
    time_zones: tuple[str, ...]


def _state_from_description(description: str, country: str) -> str | None:
    """ "San Francisco, CA" → "CA"; "Massachusetts" → "MA"; "Ontario" → "ON"."""
    tail = description.rsplit(",", 1)[-1].strip()
    return subdivision_code_for(tail, country)


def load_metadata() -> tuple[ModuleType, ModuleType]:
    """libphonenumber's geocoder and time-zone data, loaded on first use.

    The geocoder's data alone keeps ~100 MiB resident. Every stage process
    imports this module (the stage registry imports every stage), but only
    the ones that enrich should carry the data.
    """
    from phonenumbers import geocoder, timezone

    return geocoder, timezone


@lru_cache(maxsize=16384)
def phone_facts(e164: str) -> PhoneFacts | None:
    """Facts about a valid E.164 number; None if it does not parse as valid."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    country = phonenumbers.region_code_for_number(number)
    if country == "001":  # non-geographic entities (satellite, global services)
        country = None
    line_type = LINE_TYPES.get(phonenumbers.number_type(number), "unknown")
    geocoder, timezone = load_metadata()
    geographic = line_type not in NON_GEOGRAPHIC
    locality = (geocoder.description_for_number(number, "en") or None) if geographic else None
    if (
        locality is not None
        and country is not None
        and locality == geocoder.country_name_for_number(number, "en")
    ):
        locality = None  # "Germany" for a German mobile: no finer than the country
    state = None
    if geographic and locality and country in AREA_CODE_STATES:
        state = _state_from_description(locality, country)
    zones = tuple(zone for zone in timezone.time_zones_for_number(number) if zone != _UNKNOWN_ZONE)
    if len(zones) > _MAX_TIME_ZONES:
        zones = ()
    return PhoneFacts(
        e164=e164,
        country_code=country,
        country_confidence=_country_confidence(line_type) if country else 0.0,
        line_type=line_type,
        locality=locality,
        state_code=state,
        state_confidence=_STATE_CONFIDENCE.get(line_type, 0.5) if state else 0.0,
        time_zones=zones,
    )


@lru_cache(maxsize=16384)
def reparse_national(raw: str, country: str) -> str | None:
    """E.164 for a national-format number once a country is known, else None.

    Normalization keeps "020 7946 0958" unparsed when the form gave no
    country; once enrichment infers one (from the email's country domain,
    say), the number can be read after all.
    """
    try:
        number = phonenumbers.parse(raw, country)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
