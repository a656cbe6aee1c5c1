"""Country text to ISO 3166-1 alpha-2.

The table is built once from pycountry: codes (alpha-2, alpha-3, numeric),
English names (short, official, common) and pycountry's own translations
for the languages leads commonly arrive in. ``ALIASES`` adds what ISO does
not list but people type. Lookups ignore accents, case, spaces and
punctuation ("U.S.A.", "cote d'ivoire", "ÖSTERREICH").
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache

import phonenumbers
import pycountry
from pycountry.db import Country

from processors.normalize.text import fold_tokens

#: Names and abbreviations that pycountry does not resolve, mapped to alpha-2.
#: The constituent countries of the UK map to GB: routing is by sovereign
#: country, and their ISO 3166-2 codes (GB-ENG, ...) belong in ``state``.
ALIASES: dict[str, str] = {
    # United Kingdom
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    # United States
    "USA": "US",
    "U.S.A.": "US",
    "US": "US",
    "U.S.": "US",
    "America": "US",
    "United States of America": "US",
    "United States": "US",
    # Europe
    "Deutschland": "DE",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Nederland": "NL",
    "Czechia": "CZ",
    "Czech Republic": "CZ",
    "Russia": "RU",
    "Россия": "RU",
    "España": "ES",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Svizzera": "CH",
    "Österreich": "AT",
    "Italia": "IT",
    "Türkiye": "TR",
    "Turkey": "TR",
    "Éire": "IE",
    "Republic of Ireland": "IE",
    "Hellas": "GR",
    "Macedonia": "MK",
    "Vatican": "VA",
    "Vatican City": "VA",
    # Americas
    "Brasil": "BR",
    "México": "MX",
    # Africa and the Middle East
    "Côte d'Ivoire": "CI",
    "Ivory Coast": "CI",
    "UAE": "AE",
    "U.A.E.": "AE",
    "Emirates": "AE",
    "KSA": "SA",
    "Saudi": "SA",
    "DRC": "CD",
    "DR Congo": "CD",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "Palestine": "PS",
    # Asia and Oceania
    "South Korea": "KR",
    "Korea": "KR",
    "Republic of Korea": "KR",
    "North Korea": "KP",
    "Nippon": "JP",
    "Nihon": "JP",
    "日本": "JP",
    "中国": "CN",
    "PRC": "CN",
    "Viet Nam": "VN",
    "Vietnam": "VN",
    "Burma": "MM",
    "East Timor": "TL",
    "Macau": "MO",
    "Brunei": "BN",
    "Micronesia": "FM",
    # Codes that ISO has withdrawn or never assigned but that lists and forms still use
    "EL": "GR",  # the European Union's code for Greece
    "BU": "MM",  # Burma, until 1989
    "TP": "TL",  # East Timor, until 2002
    "ZR": "CD",  # Zaire, until 1997
    "FX": "FR",  # Metropolitan France
    "DD": "DE",  # East Germany
    # Kosovo, Ascension and Tristan da Cunha (see PHONE_REGIONS)
    "Kosovo": "XK",
    "Kosova": "XK",
    "Kosovë": "XK",
    "Ascension Island": "AC",
    "Ascension": "AC",
    "Tristan da Cunha": "TA",
}

#: Codes ISO 3166-1 does not assign but libphonenumber numbers on their own: XK (Kosovo,
#: user-assigned and used by the EU and most registries), AC and TA (Ascension and Tristan da
#: Cunha, reserved by ISO). A lead from Kosovo must not be refused as ``country_unknown``.
PHONE_REGIONS: frozenset[str] = frozenset(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if len(region) == 2 and pycountry.countries.get(alpha_2=region) is None
)

#: Languages whose pycountry translations are trusted as extra names. A
#: translated name that points at two countries is dropped as ambiguous.
TRANSLATION_LANGUAGES: tuple[str, ...] = (
    "de", "fr", "es", "it", "pt", "pt_BR", "nl", "sv", "da", "nb_NO", "fi",
    "pl", "cs", "hu", "ro", "el", "ja", "zh_CN", "zh_TW", "ko", "ru", "uk", "tr",
)  # fmt: skip

_PARENTHESISED = re.compile(r"\s*[(\[][^)\]]*[)\]]")


def country_key(text: str) -> str:
    """Folded lookup key; a leading "the" is ignored and "St" means "Saint"."""
    tokens = list(fold_tokens(text))
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    if tokens and tokens[0] in ("st", "ste"):
        tokens[0] = "saint"
    return "".join(tokens)


def _name_variants(name: str, *, parts: bool = True) -> Iterator[str]:
    """Extra spellings of an ISO name: without brackets, comma inverted.

    With ``parts`` the bracketed text and the part before a comma are
    offered as names too ("Holy See", "Bolivia"); translations skip that,
    because there those parts are often generic ("French", "USA").
    """
    bare = _PARENTHESISED.sub("", name).strip()
    if bare != name:
        yield bare
        if parts:
            yield from re.findall(r"[(\[]([^)\]]*)[)\]]", name)
    if ", " in bare:
        head, tail = bare.split(", ", 1)
        yield f"{tail} {head}"
        if parts:
            yield head


def _add_level(table: dict[str, str], pairs: Iterable[tuple[str, str]]) -> None:
    """Merge one priority level, dropping keys it maps to several countries."""
    level: dict[str, set[str]] = {}
    for text, code in pairs:
        key = country_key(text)
        if key:
            level.setdefault(key, set()).add(code)
    for key, codes in level.items():
        if len(codes) == 1:
            table[key] = next(iter(codes))


def _english_names(country: Country) -> Iterator[str]:
    for attr in ("name", "official_name", "common_name"):
        value = getattr(country, attr, None)
        if value:
            yield value


def _translations(countries: list[Country]) -> Iterator[tuple[str, str]]:
    for language in TRANSLATION_LANGUAGES:
        try:
            catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for country in countries:
            for name in _english_names(country):
                translated = catalog.gettext(name)
                if translated != name:
                    yield translated, country.alpha_2
                    for variant in _name_variants(translated, parts=False):
                        yield variant, country.alpha_2


@cache
def _country_table() -> dict[str, str]:
    """Folded key -> alpha-2; later levels override earlier, less exact ones."""
    countries: list[Country] = list(pycountry.countries)
    table: dict[str, str] = {}
    _add_level(table, _translations(countries))
    _add_level(
        table,
        (
            (variant, c.alpha_2)
            for c in countries
            for name in _english_names(c)
            for variant in _name_variants(name)
        ),
    )
    _add_level(table, ((name, c.alpha_2) for c in countries for name in _english_names(c)))
    _add_level(table, ((c.alpha_3, c.alpha_2) for c in countries))
    _add_level(table, ((c.alpha_2, c.alpha_2) for c in countries))
    _add_level(table, ((code, code) for code in PHONE_REGIONS))
    _add_level(table, ALIASES.items())
    return table


@cache
def _numeric_table() -> dict[str, str]:
    return {c.numeric: c.alpha_2 for c in pycountry.countries}


@lru_cache(maxsize=1)
def _alpha_2_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | PHONE_REGIONS


def is_country_code(code: str) -> bool:
    """True for an assigned ISO 3166-1 alpha-2 code (upper case), or XK, AC or TA.

    Checked against the code list itself, not the name table: name keys
    expand "st" to "saint", which would reject São Tomé and Príncipe's "ST".
    """
    return code in _alpha_2_codes()


@lru_cache(maxsize=4096)
def country_code_for(text: str) -> str | None:
    """ISO 3166-1 alpha-2 for a code, name or alias; None when unknown."""
    stripped = text.strip()
    if stripped.isdigit() and len(stripped) == 3:
        return _numeric_table().get(stripped)
    table = _country_table()
    code = table.get(country_key(text))
    if code is None and _PARENTHESISED.search(text):
        code = table.get(country_key(_PARENTHESISED.sub("", text)))
    return code
