"""State, province or region text to an ISO 3166-2 code within a country.

Per-country tables are built lazily from pycountry (each country once) and
accept the subdivision code ("CA", "ON", "NSW"), the ISO name, spellings
derived from it ("Bristol" for "Bristol, City of", "Seoul" for
"Seoul-teukbyeolsi") and ``ALIASES`` for English exonyms and postal
abbreviations that ISO does not list. A full code ("US-CA") is also
understood; see :func:`split_full_code`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache

import pycountry

from processors.normalize.text import fold_key

#: Extra names per country, mapped to the subdivision part of the code.
ALIASES: dict[str, dict[str, str]] = {
    "US": {
        # AP style and other common abbreviations.
        "Ala.": "AL", "Ariz.": "AZ", "Ark.": "AR", "Calif.": "CA", "Cal.": "CA",
        "Colo.": "CO", "Conn.": "CT", "Del.": "DE", "Fla.": "FL", "Ill.": "IL",
        "Ind.": "IN", "Kan.": "KS", "Kans.": "KS", "Ky.": "KY", "Mass.": "MA",
        "Mich.": "MI", "Minn.": "MN", "Miss.": "MS", "Mont.": "MT", "Neb.": "NE",
        "Nebr.": "NE", "Nev.": "NV", "Okla.": "OK", "Ore.": "OR", "Oreg.": "OR",
        "Penn.": "PA", "Penna.": "PA", "Tenn.": "TN", "Tex.": "TX", "Wash.": "WA",
        "W.Va.": "WV", "Wis.": "WI", "Wisc.": "WI", "Wyo.": "WY",
        "Washington DC": "DC", "Washington D.C.": "DC",
    },
    "CA": {
        "Que.": "QC", "PQ": "QC", "Québec": "QC", "Newfoundland": "NL",
        "Nfld.": "NL", "Labrador": "NL", "Yukon Territory": "YT", "Sask.": "SK",
        "Alta.": "AB", "Man.": "MB", "Ont.": "ON",
    },
    "AU": {"Vic.": "VIC", "Qld.": "QLD", "Tas.": "TAS"},
    "DE": {
        "Bavaria": "BY", "Lower Saxony": "NI", "North Rhine-Westphalia": "NW",
        "NRW": "NW", "Rhineland-Palatinate": "RP", "Saxony": "SN",
        "Saxony-Anhalt": "ST", "Thuringia": "TH", "Hesse": "HE",
        "Mecklenburg-Western Pomerania": "MV", "Mecklenburg-West Pomerania": "MV",
    },
    "AT": {
        "Vienna": "9", "Upper Austria": "4", "Lower Austria": "3", "Styria": "6",
        "Carinthia": "2", "Tyrol": "7",
    },
    "CH": {
        "Geneva": "GE", "Bern": "BE", "Lucerne": "LU", "Grisons": "GR",
        "Saint Gallen": "SG", "St. Gallen": "SG",
    },
    "IT": {
        "Lombardy": "25", "Piedmont": "21", "Tuscany": "52", "Sicily": "82",
        "Sardinia": "88", "Apulia": "75", "Aosta Valley": "23",
    },
    "ES": {
        "Catalonia": "CT", "Andalusia": "AN", "Basque Country": "PV",
        "Valencia": "VC", "Balearic Islands": "IB", "Canary Islands": "CN",
        "Navarre": "NC",
    },
    "MX": {"Mexico City": "CMX", "CDMX": "CMX", "State of Mexico": "MEX"},
    "BE": {"Brussels": "BRU", "Flanders": "VLG", "Wallonia": "WAL"},
    "CN": {
        "Tibet": "XZ", "Inner Mongolia": "NM", "Guangxi": "GX", "Ningxia": "NX",
        "Xinjiang": "XJ",
    },
    "IN": {"Orissa": "OD", "Pondicherry": "PY", "Bombay": "MH"},
}  # fmt: skip

#: Names that a derived spelling would get wrong and that therefore stay
#: unresolved: "London" is not the City of London (GB-LND).
_NOT_DERIVED: dict[str, frozenset[str]] = {"GB": frozenset({"london"})}

#: Administrative words that ISO names carry and people leave out (or add):
#: "Guangdong Sheng", "Seoul-teukbyeolsi", "Skåne län", "Ontario Province".
_ADMIN_WORDS: tuple[str, ...] = (
    "sheng", "shi", "zizhiqu", "sar", "teukbyeolsi", "teukbyeoljachido",
    "gwangyeoksi", "do", "lan", "province", "state", "county", "region",
    "prefecture", "territory", "oblast", "krai",
)  # fmt: skip

_BRACKETED = re.compile(r"\s*[(\[]([^)\]]*)[)\]]")
_CODE_IN_BRACKETS = re.compile(r"\b[A-Z]{2}-[A-Z0-9]{1,3}\b")
_FULL_CODE = re.compile(r"^\s*([A-Za-z]{2})\s*[-_]\s*([A-Za-z0-9]{1,3})\s*$")
_SPLIT_WORDS = re.compile(r"[\s\-]+")


def _strip_admin_word(text: str) -> str | None:
    words = _SPLIT_WORDS.split(text.strip())
    if len(words) > 1 and fold_key(words[-1]) in _ADMIN_WORDS:
        return " ".join(words[:-1])
    return None


def _derived_names(name: str) -> Iterator[str]:
    """Spellings people use for an ISO name; resolved with lower priority."""
    bare = _BRACKETED.sub("", name).strip()
    if bare != name:
        yield bare
        for bracketed in _BRACKETED.findall(name):
            inner = _CODE_IN_BRACKETS.sub("", bracketed).strip()
            if inner:
                yield inner
    for part in bare.split("/"):
        if part.strip() != bare:
            yield part.strip()
    if ", " in bare:
        head, tail = bare.split(", ", 1)
        yield f"{tail} {head}"
        yield head
    without = _strip_admin_word(bare)
    if without:
        yield without


def _add_level(table: dict[str, str], pairs: Iterable[tuple[str, str]], top_level: frozenset[str]) -> None:
    """Merge one priority level.

    A key naming several subdivisions goes to the single top-level one among
    them (the Balearic Islands community, not the province of the same
    name); if there is no single one it is dropped as ambiguous.
    """
    level: dict[str, set[str]] = {}
    for text, code in pairs:
        key = fold_key(text)
        if key:
            level.setdefault(key, set()).add(code)
    for key, codes in level.items():
        candidates = codes if len(codes) == 1 else codes & top_level
        if len(candidates) == 1:
            table[key] = next(iter(candidates))


@cache
def _table(country: str) -> dict[str, str]:
    """Folded key -> full ISO 3166-2 code for one country."""
    subdivisions = sorted(pycountry.subdivisions.get(country_code=country) or (), key=lambda s: s.code)
    table: dict[str, str] = {}
    top = frozenset(s.code for s in subdivisions if s.parent_code is None)
    blocked = _NOT_DERIVED.get(country, frozenset())
    _add_level(
        table,
        (
            (variant, s.code)
            for s in subdivisions
            for variant in _derived_names(s.name)
            if fold_key(variant) not in blocked
        ),
        top,
    )
    # Lower-level units first so that a region wins over a district of the
    # same name (the name level is not dropped as ambiguous; see below).
    for sub in sorted(subdivisions, key=lambda s: (s.parent_code is None, s.code)):
        key = fold_key(sub.name)
        if key:
            table[key] = sub.code
    codes = {s.code.split("-", 1)[1]: s.code for s in subdivisions}
    _add_level(table, ((suffix, code) for suffix, code in codes.items()), top)
    _add_level(
        table,
        ((alias, codes[suffix]) for alias, suffix in ALIASES.get(country, {}).items() if suffix in codes),
        top,
    )
    return table


@cache
def subdivision_codes(country: str) -> frozenset[str]:
    """All full ISO 3166-2 codes of ``country``."""
    return frozenset(s.code for s in pycountry.subdivisions.get(country_code=country) or ())


def split_full_code(text: str) -> tuple[str, str] | None:
    """("US", "US-CA") for text shaped like a full ISO 3166-2 code, else None."""
    match = _FULL_CODE.match(text)
    if match is None:
        return None
    country = match.group(1).upper()
    return country, f"{country}-{match.group(2).upper()}"


@lru_cache(maxsize=16384)
def subdivision_code_for(text: str, country: str) -> str | None:
    """Full ISO 3166-2 code of a state given by code or name within ``country``."""
    full = split_full_code(text)
    if full is not None and full[0] == country:
        return full[1] if full[1] in subdivision_codes(country) else None
    table = _table(country)
    code = table.get(fold_key(text))
    if code is None:
        without = _strip_admin_word(text)
        if without:
            code = table.get(fold_key(without))
    return code
