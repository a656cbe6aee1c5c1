"""Country and state to sales region and sub-region.

Territories change more often than code, so the mapping is data: a YAML file
(the shipped default is ``data/regions.yaml``; its header documents the
format) that a user can overlay with a file of their own. This module checks a
parsed :class:`~processors.config.Document` and answers look-ups; reading the
files is the caller's job, which keeps it pure and quick to test.

Overlay: a user file replaces the base's rule for every country and every
state it names and keeps the base's rule for everything else; with
``replace: true`` at the top it ignores the base entirely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from typing import Any

import pycountry

from processors.config import ConfigError, Document, unknown_key
from processors.config import Path as NodePath
from processors.normalize.countries import PHONE_REGIONS, country_code_for
from processors.normalize.subdivisions import subdivision_code_for, subdivision_codes

#: ``Placement.matched`` values: which kind of rule placed the lead.
STATE = "state"
COUNTRY = "country"

#: The only file format version this build reads.
VERSION = 1

_TOP_KEYS = ("version", "replace", "regions")
_ENTRY_KEYS = ("region", "sub_region", "countries", "states")
_ISO_ALPHA_2 = "ISO 3166-1 alpha-2, e.g. DE"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a lead belongs for sales coverage, and which kind of rule said so."""

    region: str  # e.g. "AMER", "EMEA", "APAC", "LATAM"
    sub_region: str | None  # e.g. "US West", "DACH", "ANZ"
    matched: str  # STATE when a state rule decided, COUNTRY otherwise


@cache
def _iso_countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code pycountry knows: what a file may name and what coverage means."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


@dataclass(slots=True)
class _Reader:
    """Validates one document into rules, remembering lines to name both sides of a duplicate."""

    doc: Document
    countries: dict[str, Placement] = field(default_factory=dict)
    states: dict[tuple[str, str], Placement] = field(default_factory=dict)
    names: list[tuple[str, str | None]] = field(default_factory=list)
    replace: bool = False
    _lines: dict[object, int | None] = field(default_factory=dict)

    def error(self, path: NodePath, reason: str) -> ConfigError:
        return self.doc.error(path, reason)

    def read(self) -> _Reader:
        data = self.doc.data
        if data is None:
            raise self.error((), "the file is empty; start it with 'version: 1' and a 'regions:' list")
        if not isinstance(data, dict):
            raise self.error((), "the file must be a mapping with 'version: 1' and a 'regions:' list")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.error((key,), unknown_key(key, "the top level", _TOP_KEYS))
        self._version(data)
        replace = data.get("replace", False)
        if not isinstance(replace, bool):
            raise self.error(("replace",), "replace must be true or false")
        self.replace = replace
        if "regions" not in data:
            raise self.error((), "no 'regions:' list; add one with an entry per region and sub-region")
        entries = data["regions"]
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise self.error(
                ("regions",), "regions must be a list of entries, each starting with '- region:'"
            )
        for index, entry in enumerate(entries):
            self._entry(("regions", index), entry)
        return self

    def _version(self, data: dict[str, Any]) -> None:
        if "version" not in data:
            raise self.error((), "no version; add 'version: 1' at the top of the file")
        version = data["version"]
        if type(version) is not int or version != VERSION:
            raise self.error(
                ("version",), f"version {version!r} is not supported; this build reads 'version: {VERSION}'"
            )

    def _entry(self, path: NodePath, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise self.error(
                path, "each entry must be a mapping with region:, sub_region:, countries: or states:"
            )
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise self.error((*path, key), unknown_key(key, "an entry", _ENTRY_KEYS))
        region = entry.get("region")
        if region is None:
            raise self.error(path, "this entry has no region; add one, e.g. 'region: EMEA'")
        region = self._name((*path, "region"), region, "region")
        sub_region = entry.get("sub_region")
        if sub_region is not None:
            sub_region = self._name((*path, "sub_region"), sub_region, "sub_region")
        if entry.get("countries") is None and entry.get("states") is None:
            raise self.error(path, "this entry places nothing; add 'countries: [...]' or 'states: {...}'")
        self.names.append((region, sub_region))
        by_country = Placement(region, sub_region, COUNTRY)
        by_state = Placement(region, sub_region, STATE)
        self._countries((*path, "countries"), entry.get("countries"), by_country)
        self._states((*path, "states"), entry.get("states"), by_state)

    def _name(self, path: NodePath, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, f"{key} must be a name in text, e.g. '{key}: EMEA'")
        return value.strip()

    def _countries(self, path: NodePath, codes: Any, placement: Placement) -> None:
        if codes is None:
            return
        if not isinstance(codes, list):
            raise self.error(path, "countries must be a list of codes, e.g. 'countries: [DE, AT, CH]'")
        for index, value in enumerate(codes):
            item = (*path, index)
            country = self._country(item, value)
            self._claim(item, country, f"country '{country}'")
            self.countries[country] = placement

    def _states(self, path: NodePath, by_country: Any, placement: Placement) -> None:
        if by_country is None:
            return
        if not isinstance(by_country, dict):
            raise self.error(
                path, "states must list states under their country, e.g. 'states: {US: [CA, OR]}'"
            )
        for key, codes in by_country.items():
            key_path = (*path, key)
            country = self._country(key_path, key)
            if not isinstance(codes, list):
                raise self.error(key_path, f"list the states of {country} as a list, e.g. '{key}: [CA, OR]'")
            for index, value in enumerate(codes):
                item = (*key_path, index)
                state = self._state(item, country, value)
                self._claim(item, (country, state), f"state '{country}-{state}'")
                self.states[(country, state)] = placement

    def _country(self, path: NodePath, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(path, f"a country must be a code in text, not {value!r}; use {_ISO_ALPHA_2}")
        code = value.strip().upper()
        if code in _iso_countries() or code in PHONE_REGIONS:
            return code
        meant = country_code_for(value)
        hint = f"did you mean '{meant}'? Use" if meant else "use"
        raise self.error(path, f"unknown country code '{value}'; {hint} {_ISO_ALPHA_2}")

    def _state(self, path: NodePath, country: str, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(path, f"a state must be a code in text, not {value!r}")
        code = str(value).strip().upper()
        code = code.removeprefix(f"{country}-")
        known = subdivision_codes(country)
        if f"{country}-{code}" in known:
            return code
        if not known:
            raise self.error(
                path, f"{country} has no ISO 3166-2 states; place it with 'countries: [{country}]'"
            )
        example = min(known).split("-", 1)[1]
        if isinstance(value, int):
            hint = f"quote numeric codes so a leading zero survives, e.g. '{example}'"
        else:
            meant = subdivision_code_for(str(value), country)
            hint = f"did you mean '{meant.split('-', 1)[1]}'? Use" if meant else "use"
            hint += f" the ISO 3166-2 code without '{country}-', e.g. {example}"
        raise self.error(path, f"unknown state '{value}' for {country}; {hint}")

    def _claim(self, path: NodePath, key: object, what: str) -> None:
        """Refuse a second rule for the same country or state within one file."""
        line = self.doc.line(path)
        if key in self._lines:
            first = self._lines[key]
            where = f"twice on line {line}" if first == line else f"on lines {first} and {line}"
            raise self.error(path, f"{what} is mapped {where}; keep one of them")
        self._lines[key] = line


class RegionMap:
    """Country and state rules, answering "which region is this lead in?" with dict look-ups."""

    __slots__ = ("_countries", "_names", "_regions", "_states", "_sub_regions")

    def __init__(
        self,
        countries: Mapping[str, Placement],
        states: Mapping[tuple[str, str], Placement],
        names: Iterable[tuple[str, str | None]] = (),
    ) -> None:
        """Prefer :meth:`from_document`; ``names`` gives the order of regions and sub-regions."""
        self._countries = dict(countries)
        self._states = dict(states)
        in_use = {(p.region, p.sub_region) for p in chain(self._countries.values(), self._states.values())}
        order = [name for name in dict.fromkeys(names) if name in in_use]
        order += sorted(in_use - set(order), key=lambda name: (name[0], name[1] or ""))
        self._names: tuple[tuple[str, str | None], ...] = tuple(order)
        self._regions = tuple(dict.fromkeys(region for region, _ in order))
        self._sub_regions = tuple(dict.fromkeys(sub for _, sub in order if sub is not None))

    @classmethod
    def from_document(cls, doc: Document, base: RegionMap | None = None) -> RegionMap:
        """Build a map from a parsed regions file, laid over ``base`` if given.

        Every country and every state that ``doc`` names replaces ``base``'s
        rule for it; all other rules of ``base`` stay. Naming a country does
        not drop ``base``'s state rules for it (a state rule still wins), so
        moving a whole country means naming its states too. A top-level
        ``replace: true`` ignores ``base`` entirely. Raises
        :class:`~processors.config.ConfigError` ("file:line: reason") for
        anything that cannot be used.
        """
        rules = _Reader(doc).read()
        if base is None or rules.replace:
            return cls(rules.countries, rules.states, rules.names)
        return cls(
            {**base._countries, **rules.countries},
            {**base._states, **rules.states},
            chain(base._names, rules.names),
        )

    def place(self, country: str | None, state: str | None) -> Placement | None:
        """Placement of a lead; ``state`` is the subdivision part only ("CA", not "US-CA").

        A state rule wins over the country rule; None when the country is
        missing or has no rule.
        """
        if not country:
            return None
        country = country.upper()
        if state:
            found = self._states.get((country, state.upper()))
            if found is not None:
                return found
        return self._countries.get(country)

    @property
    def regions(self) -> tuple[str, ...]:
        """Distinct region names in use, in file order (base file first)."""
        return self._regions

    @property
    def sub_regions(self) -> tuple[str, ...]:
        """Distinct sub-region names in use, in file order (base file first)."""
        return self._sub_regions

    def unmapped_countries(self) -> tuple[str, ...]:
        """ISO 3166-1 countries with no country rule, sorted.

        A country covered only by state rules counts as unmapped: its leads
        without a state would get no region.
        """
        return tuple(sorted(_iso_countries() - self._countries.keys()))

    def __repr__(self) -> str:
        return f"RegionMap({len(self._countries)} countries, {len(self._states)} states)"
