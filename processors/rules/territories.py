"""Territories: named places a lead can fall in, by country, state, postal code or phone.

A lead is in a territory when its country is one of ``countries`` (if given) and,
if any narrowing is given (``states``, ``postal_codes``, ``phone_area_codes``),
at least one of them matches. The lead's place is read from ``normalized`` first
(what the lead said) and from ``enrichment`` when the form said nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import Any

import pycountry

from processors.config import Path
from processors.rules.findings import Findings


@dataclass(frozen=True, slots=True)
class Place:
    """Where a lead is, in the forms territories compare: upper-case, postal without spaces."""

    country: str | None
    state: str | None
    postal: str | None
    phone: str | None


def _section(lead: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    data = lead.get(name)
    return data if type(data) is dict or isinstance(data, Mapping) else {}


def _first(normalized: Mapping[str, Any], enrichment: Mapping[str, Any], key: str) -> str | None:
    value = normalized.get(key)
    if type(value) is str and value.strip():
        return value
    value = enrichment.get(key)
    return value if type(value) is str and value.strip() else None


def place_of(lead: Mapping[str, Any]) -> Place:
    normalized, enrichment = _section(lead, "normalized"), _section(lead, "enrichment")
    country = _first(normalized, enrichment, "country_code")
    state = _first(normalized, enrichment, "state_code")
    postal = _first(normalized, enrichment, "postal_code")
    phone = _first(normalized, enrichment, "phone_e164")
    return Place(
        country.strip().upper() if country else None,
        state.strip().upper() if state else None,
        "".join(postal.split()).upper() if postal else None,
        "".join(phone.split()) if phone else None,
    )


@dataclass(frozen=True, slots=True)
class PostalRange:
    low: str
    high: str

    def __contains__(self, code: str) -> bool:
        head = code[: len(self.low)]
        return len(head) == len(self.low) and self.low <= head <= self.high


@dataclass(frozen=True, slots=True)
class Territory:
    name: str
    countries: frozenset[str]
    states: frozenset[str]
    postal_prefixes: tuple[str, ...]
    postal_ranges: tuple[PostalRange, ...]
    phone_prefixes: tuple[str, ...]
    line: int | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.states or self.postal_prefixes or self.postal_ranges or self.phone_prefixes)

    def contains(self, place: Place) -> bool:
        if self.countries and place.country not in self.countries:
            return False
        if not self.narrowed:
            return True
        if place.state is not None and place.state in self.states:
            return True
        postal = place.postal
        if postal is not None and (
            postal.startswith(self.postal_prefixes) or any(postal in span for span in self.postal_ranges)
        ):
            return True
        return place.phone is not None and place.phone.startswith(self.phone_prefixes)


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _subdivisions() -> frozenset[str]:
    return frozenset(sub.code.upper() for sub in pycountry.subdivisions)


def compile_territory(name: str, data: Mapping[str, Any], path: Path, findings: Findings) -> Territory | None:
    """A schema-valid territory, checked against ISO 3166; ``None`` after an error."""
    ok = True
    countries = []
    for index, code in enumerate(data.get("countries", [])):
        upper = code.upper()
        if upper not in _countries():
            findings.error(
                (*path, "countries", index),
                "unknown_country",
                f"'{code}' is not an ISO 3166-1 alpha-2 country code. "
                "Use the two-letter code, e.g. GB for the United Kingdom, DE for Germany.",
            )
            ok = False
        countries.append(upper)
    states = []
    for index, code in enumerate(data.get("states", [])):
        upper = code.upper()
        if "-" not in upper:
            if len(countries) != 1:
                findings.error(
                    (*path, "states", index),
                    "ambiguous_state",
                    f"state '{code}' has no country and the territory does not list exactly one. "
                    f"Write the ISO 3166-2 code, e.g. US-{upper}.",
                )
                ok = False
                continue
            upper = f"{countries[0]}-{upper}"
        if upper not in _subdivisions():
            findings.error(
                (*path, "states", index),
                "unknown_state",
                f"'{upper}' is not an ISO 3166-2 subdivision code. "
                "Use the code from ISO 3166-2, e.g. US-CA, CA-ON, DE-BY.",
            )
            ok = False
        states.append(upper)
    prefixes: list[str] = []
    ranges: list[PostalRange] = []
    for index, item in enumerate(data.get("postal_codes", [])):
        if isinstance(item, str):
            prefixes.append("".join(item.split()).upper())
            continue
        low, high = ("".join(str(item[key]).split()).upper() for key in ("from", "to"))
        if len(low) != len(high) or low > high:
            findings.error(
                (*path, "postal_codes", index),
                "invalid_postal_range",
                f"postal range {item['from']}–{item['to']} is not usable: both ends need the same "
                "length and 'from' must not come after 'to'. Write e.g. {from: '80000', to: '84999'}.",
            )
            ok = False
            continue
        ranges.append(PostalRange(low, high))
    phones = tuple(data.get("phone_area_codes", []))
    if not ok:
        return None
    return Territory(
        name,
        frozenset(countries),
        frozenset(states),
        tuple(prefixes),
        tuple(ranges),
        phones,
        findings.doc.line(path),
    )


def _prefix_pairs(first: tuple[str, ...], second: tuple[str, ...]) -> list[str]:
    return [a if len(a) >= len(b) else b for a in first for b in second if a.startswith(b) or b.startswith(a)]


def _spans_meet(first: PostalRange, second: PostalRange) -> bool:
    width = min(len(first.low), len(second.low))
    return first.low[:width] <= second.high[:width] and second.low[:width] <= first.high[:width]


def _prefix_in_span(prefix: str, span: PostalRange) -> bool:
    width = min(len(prefix), len(span.low))
    return span.low[:width] <= prefix[:width] <= span.high[:width]


def _postal_pairs(first: Territory, second: Territory) -> list[str]:
    found = _prefix_pairs(first.postal_prefixes, second.postal_prefixes)
    for a, b in ((first, second), (second, first)):
        for span in a.postal_ranges:
            found += [
                f"{p} and {span.low}–{span.high}" for p in b.postal_prefixes if _prefix_in_span(p, span)
            ]
    for span in first.postal_ranges:
        for other in second.postal_ranges:
            if _spans_meet(span, other):
                found.append(f"{span.low}–{span.high} and {other.low}–{other.high}")
    return found


def _postal_covered(inner: Territory, outer: Territory) -> bool:
    """Every postal code ``inner`` lists is also one of ``outer``'s (a sub-territory)."""

    def covered_prefix(prefix: str) -> bool:
        # Every code of a range's length that starts with the prefix lies within the range.
        return prefix.startswith(outer.postal_prefixes) or any(
            prefix[: len(span.low)].ljust(len(span.low), "0") >= span.low
            and prefix[: len(span.low)].ljust(len(span.low), "Z") <= span.high
            for span in outer.postal_ranges
        )

    def covered_span(span: PostalRange) -> bool:
        # Codes between two that share a prefix share it too (same length, text order).
        return any(span.low.startswith(p) and span.high.startswith(p) for p in outer.postal_prefixes) or any(
            len(span.low) == len(other.low) and other.low <= span.low and span.high <= other.high
            for other in outer.postal_ranges
        )

    return all(covered_prefix(p) for p in inner.postal_prefixes) and all(
        covered_span(span) for span in inner.postal_ranges
    )


def _phones_covered(inner: Territory, outer: Territory) -> bool:
    return all(prefix.startswith(outer.phone_prefixes) for prefix in inner.phone_prefixes)


def _conflict(first_in_second: bool, second_in_first: bool) -> bool:
    """Shared ground is a problem unless one side strictly nests in the other (a sub-territory)."""
    return first_in_second == second_in_first


def overlaps(first: Territory, second: Territory) -> list[str]:
    """Why two territories claim the same leads, beyond one being a sub-territory of the other.

    Per dimension, shared countries, states, postal codes or phone prefixes are reported
    when the two lists are the same (a duplicate) or only partly overlap; a list wholly
    inside the other (DACH inside EMEA, US-CA inside US) is a sub-territory and is fine.
    """
    reasons: list[str] = []
    shared = first.countries & second.countries
    if (
        shared
        and not first.narrowed
        and not second.narrowed
        and _conflict(first.countries <= second.countries, second.countries <= first.countries)
    ):
        same = first.countries == second.countries
        reasons.append(("both cover exactly " if same else "both cover ") + ", ".join(sorted(shared)))
    if first.countries and second.countries and not shared:
        return reasons
    states = first.states & second.states
    if states and _conflict(first.states <= second.states, second.states <= first.states):
        reasons.append("both list state " + ", ".join(sorted(states)))
    postal = _postal_pairs(first, second)
    if postal and _conflict(_postal_covered(first, second), _postal_covered(second, first)):
        reasons.append("postal codes overlap: " + "; ".join(sorted(set(postal))))
    phones = _prefix_pairs(first.phone_prefixes, second.phone_prefixes)
    if phones and _conflict(_phones_covered(first, second), _phones_covered(second, first)):
        reasons.append("phone prefixes overlap: " + ", ".join(sorted(set(phones))))
    return reasons


def check_overlaps(territories: list[tuple[Territory, Path]], findings: Findings) -> None:
    for (first, _), (second, second_path) in combinations(territories, 2):
        for reason in overlaps(first, second):
            findings.warning(
                second_path,
                "territory_overlap",
                f"territories '{first.name}' and '{second.name}' overlap ({reason}), so a lead can "
                "be in both. If that is not intended, narrow one of them; if it is, routes decide "
                "which one wins by their order.",
            )


class TerritoryIndex:
    """Finds a lead's territories without testing every one: by country first."""

    __slots__ = ("_by_country", "_open")

    def __init__(self, territories: tuple[Territory, ...]) -> None:
        order = {territory.name: index for index, territory in enumerate(territories)}
        countryless = [territory for territory in territories if not territory.countries]
        by_country: dict[str, tuple[Territory, ...]] = {}
        for country in {code for territory in territories for code in territory.countries}:
            candidates = [t for t in territories if country in t.countries] + countryless
            by_country[country] = tuple(sorted(candidates, key=lambda t: order[t.name]))
        self._by_country = by_country
        self._open = tuple(countryless)

    def locate(self, place: Place) -> tuple[str, ...]:
        """Names of every territory ``place`` is in, in file order."""
        candidates = self._by_country.get(place.country, self._open) if place.country else self._open
        return tuple(
            territory.name
            for territory in candidates
            if (not territory.narrowed and (place.country in territory.countries or not territory.countries))
            or territory.contains(place)
        )
