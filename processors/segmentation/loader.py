"""Segments files → :class:`SegmentDefinitions`, refusing anything unclear with file:line: fix.

The shipped file (``data/segments.yaml``) is the base; a user's file is laid over it:

* ``size_bands``, ``revenue_bands``: a list in the user file replaces the shipped list whole
  (bands only make sense as a set);
* ``verticals``, ``seniority_tiers``, ``source_channels``: every name the user file gives
  replaces the shipped entry of that name; a keyword or value the user lists is taken away
  from any other shipped entry; an empty list removes the entry;
* ``scoring``: ``base`` replaces the shipped base; a rule replaces the shipped rule of the
  same name, a new name is added at the end, ``{name: x, disabled: true}`` drops rule x;
* ``replace: true`` at the top ignores the shipped file entirely.

Pure: the caller reads the text and hands over parsed Documents.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from processors.config import ConfigError, Document, described, parse_yaml, unknown_key
from processors.config import Path as NodePath
from processors.enrichment.titles import SENIORITIES
from processors.models import SOURCES
from processors.segmentation.bands import Band
from processors.segmentation.definitions import SegmentDefinitions
from processors.segmentation.scoring import ScoreRule, parse_rule
from processors.segmentation.verticals import OTHER, Keyword, keyword

#: The only file format version this build reads.
VERSION = 1
SHIPPED_NAME = "segments.yaml"

_TOP_KEYS = (
    "version", "replace", "size_bands", "revenue_bands", "verticals", "seniority_tiers",
    "source_channels", "scoring",
)  # fmt: skip
_BAND_KEYS = ("name", "min", "max")
_SCORING_KEYS = ("base", "rules")
_RULE_KEYS = ("name", "points", "when", "reason", "disabled")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def _span(band: Band) -> str:
    return f"{band.min:,}+" if band.max is None else f"{band.min:,}-{band.max:,}"


@dataclass(slots=True)
class _Named:
    """One section of name → list (verticals, tiers, channels) as one file gives it."""

    entries: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    #: each listed item's identity → (name it is listed under, line)
    owners: dict[Any, tuple[str, int | None]] = field(default_factory=dict)


@dataclass(slots=True)
class _Rule:
    name: str
    line: int | None
    rule: ScoreRule | None  # None when disabled


@dataclass(slots=True)
class _File:
    """What one file says; a section it leaves out is None."""

    replace: bool = False
    size_bands: tuple[Band, ...] | None = None
    revenue_bands: tuple[Band, ...] | None = None
    verticals: _Named | None = None
    seniority_tiers: _Named | None = None
    source_channels: _Named | None = None
    score_base: int | None = None
    rules: list[_Rule] | None = None
    scoring_off: bool = False


class _Reader:
    """Validates one document."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def error(self, path: NodePath, reason: str) -> ConfigError:
        return self.doc.error(path, reason)

    def read(self) -> _File:
        data = self.doc.data
        if data is None:
            raise self.error((), "the file is empty; start it with 'version: 1' (see docs/segmentation.md)")
        if not isinstance(data, dict):
            raise self.error((), "the file must be a mapping that starts with 'version: 1'")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.error((key,), unknown_key(key, "the top level", _TOP_KEYS))
        if "version" not in data:
            raise self.error((), "no version; add 'version: 1' at the top of the file")
        version = data["version"]
        if type(version) is not int or version != VERSION:
            raise self.error(
                ("version",), f"version {version!r} is not supported; this build reads 'version: {VERSION}'"
            )
        found = _File()
        replace = data.get("replace", False)
        if not isinstance(replace, bool):
            raise self.error(("replace",), "replace must be true or false")
        found.replace = replace
        if "size_bands" in data:
            found.size_bands = self._bands("size_bands", data["size_bands"], "employees", "1_000")
        if "revenue_bands" in data:
            found.revenue_bands = self._bands(
                "revenue_bands", data["revenue_bands"], "US dollars", "10_000_000"
            )
        if "verticals" in data:
            found.verticals = self._named("verticals", data["verticals"], self._keyword, "vertical")
        if "seniority_tiers" in data:
            found.seniority_tiers = self._named(
                "seniority_tiers", data["seniority_tiers"], self._choice(SENIORITIES, "seniority"), "tier"
            )
        if "source_channels" in data:
            found.source_channels = self._named(
                "source_channels", data["source_channels"], self._choice(SOURCES, "source"), "channel"
            )
        if "scoring" in data:
            self._scoring(data["scoring"], found)
        return found

    # names

    def _name(self, path: NodePath, value: Any, what: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            shown = repr(value) if isinstance(value, str) else described(value)
            raise self.error(
                path,
                f"{what} name {shown} is not usable; use lower-case letters, digits, _ and - (mid_market)",
            )
        return value

    # bands

    def _bands(self, key: str, value: Any, unit: str, example: str) -> tuple[Band, ...]:
        path: NodePath = (key,)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(
                path, f"{key} must be a list of bands, each like '- {{name: smb, min: 10, max: 199}}'"
            )
        bands: list[Band] = []
        lines: dict[str, int | None] = {}
        for index, entry in enumerate(value):
            where = (*path, index)
            band = self._band(where, entry, unit, example, last=index == len(value) - 1)
            if band.name in lines:
                raise self.error(
                    (*where, "name"),
                    f"band '{band.name}' is given twice (line {lines[band.name]}); rename one",
                )
            if bands:
                self._follows(where, bands[-1], band, lines[bands[-1].name])
            lines[band.name] = self.doc.line(where)
            bands.append(band)
        return tuple(bands)

    def _band(self, path: NodePath, entry: Any, unit: str, example: str, *, last: bool) -> Band:
        if not isinstance(entry, dict):
            raise self.error(
                path,
                "each band must be a mapping such as {name: smb, min: 10, max: 199}, "
                f"not {described(entry)}",
            )
        for key in entry:
            if key not in _BAND_KEYS:
                raise self.error((*path, key), unknown_key(key, "a band", _BAND_KEYS))
        if "name" not in entry:
            raise self.error(path, "this band has no name; add one, e.g. 'name: smb'")
        name = self._name((*path, "name"), entry["name"], "band")
        if "min" not in entry:
            raise self.error(
                path, f"band '{name}' has no min; add the smallest value it holds, e.g. 'min: 10'"
            )
        low = self._bound((*path, "min"), entry["min"], unit, example)
        high = None
        if entry.get("max") is not None:
            high = self._bound((*path, "max"), entry["max"], unit, example)
            if high < low:
                raise self.error(
                    (*path, "max"), f"band '{name}' has max {high:,} below its min {low:,}; swap them"
                )
        elif not last:
            raise self.error(
                path, f"band '{name}' has no max; only the last band may be open-ended, so give it a max"
            )
        return Band(name, low, high)

    def _bound(self, path: NodePath, value: Any, unit: str, example: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(
                path,
                f"a bound must be a whole number of {unit}, 0 or more, such as {example}, "
                f"not {described(value)}",
            )
        return value

    def _follows(self, path: NodePath, before: Band, band: Band, before_line: int | None) -> None:
        """Bands are listed smallest first and meet exactly: no overlap, no gap."""
        assert before.max is not None  # only the last band may be open-ended
        expected = before.max + 1
        if band.min < expected:
            raise self.error(
                (*path, "min"),
                f"band '{band.name}' ({_span(band)}) overlaps '{before.name}' ({_span(before)}, line "
                f"{before_line}); list bands smallest first and start '{band.name}' at {expected:,}",
            )
        if band.min > expected:
            raise self.error(
                (*path, "min"),
                f"{expected:,}-{band.min - 1:,} falls between '{before.name}' and '{band.name}' and "
                f"would get no band; start '{band.name}' at {expected:,} or add a band for them",
            )

    # name → list sections

    def _named(self, key: str, value: Any, item: Any, what: str) -> _Named:
        path: NodePath = (key,)
        section = _Named()
        if value is None:
            return section
        if not isinstance(value, dict):
            raise self.error(
                path, f"{key} must be a mapping of {what} → list, e.g. '{key}: {{name: [a, b]}}'"
            )
        for name, items in value.items():
            where = (*path, name)
            self._name(where, name, what)
            if key == "verticals" and name == OTHER:
                raise self.error(
                    where, f"'{OTHER}' is what an industry gets when no keyword matches; choose another name"
                )
            if items is None:
                items = []
            if not isinstance(items, list):
                raise self.error(
                    where, f"list the entries of {what} '{name}' as a list, e.g. '{name}: [a, b]'"
                )
            read: list[Any] = []
            for index, raw in enumerate(items):
                at = (*where, index)
                value_read, identity, label = item(at, raw)
                if identity in section.owners:
                    first, line = section.owners[identity]
                    raise self.error(
                        at,
                        f"{label} is already listed under '{first}' (line {line}); each may appear once "
                        f"in the file, so keep it under one {what}",
                    )
                section.owners[identity] = (name, self.doc.line(at))
                read.append(value_read)
            section.entries[name] = tuple(read)
        return section

    def _keyword(self, path: NodePath, raw: Any) -> tuple[Keyword, Any, str]:
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise self.error(
                path, f"a keyword must be text, not {described(raw)}; put quotes around true/false"
            )
        found = keyword(str(raw).strip())
        if isinstance(found, str):
            raise self.error(path, found)
        return found, found.key, f"keyword '{raw}'"

    def _choice(self, allowed: tuple[str, ...], what: str) -> Any:
        def read(path: NodePath, raw: Any) -> tuple[str, str, str]:
            if not isinstance(raw, str) or raw not in allowed:
                close = (
                    difflib.get_close_matches(str(raw), allowed, n=1, cutoff=0.6)
                    if isinstance(raw, str)
                    else []
                )
                guess = f"did you mean '{close[0]}'? " if close else ""
                raise self.error(path, f"unknown {what} {raw!r}; {guess}use one of {', '.join(allowed)}")
            return raw, raw, f"{what} '{raw}'"

        return read

    # scoring

    def _scoring(self, value: Any, found: _File) -> None:
        path: NodePath = ("scoring",)
        if value is False:
            found.scoring_off = True
            return
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(
                path, "scoring must be a mapping with 'base' and 'rules', or false to turn the score off"
            )
        for key in value:
            if key not in _SCORING_KEYS:
                raise self.error((*path, key), unknown_key(key, "scoring", _SCORING_KEYS))
        if "base" in value:
            base = value["base"]
            if isinstance(base, bool) or not isinstance(base, int):
                raise self.error(
                    (*path, "base"), f"base must be a whole number of points, not {described(base)}"
                )
            found.score_base = base
        rules = value.get("rules")
        if rules is None:
            rules = []
        if not isinstance(rules, list):
            raise self.error((*path, "rules"), "rules must be a list, each rule starting with '- name:'")
        found.rules = []
        seen: dict[str, int | None] = {}
        for index, data in enumerate(rules):
            where = (*path, "rules", index)
            if not isinstance(data, dict):
                raise self.error(
                    where,
                    f"each rule must be a mapping with {', '.join(_RULE_KEYS[:4])}, not {described(data)}",
                )
            for key in data:
                if key not in _RULE_KEYS:
                    raise self.error((*where, key), unknown_key(key, "a rule", _RULE_KEYS))
            disabled = data.get("disabled", False)
            if not isinstance(disabled, bool):
                raise self.error((*where, "disabled"), "disabled must be true or false")
            name = data.get("name")
            if disabled:
                if not isinstance(name, str) or not name.strip():
                    raise self.error(where, "say which rule to disable: '{name: free_mail, disabled: true}'")
                rule = None
                name = name.strip()
            else:
                rule = parse_rule(self.doc, where, data)
                name = rule.name
            if name in seen:
                raise self.error(
                    (*where, "name"),
                    f"rule '{name}' is given twice (line {seen[name]}); names must be unique",
                )
            seen[name] = self.doc.line(where)
            found.rules.append(_Rule(name, seen[name], rule))


# --- laying one file over another ---------------------------------------------------------------


def _overlay_named(
    base: Mapping[str, tuple[Any, ...]], top: _Named, identity: Any
) -> dict[str, tuple[Any, ...]]:
    """Names in ``top`` replace ``base``'s; items ``top`` lists leave every other base entry."""
    taken = set(top.owners)
    merged: dict[str, tuple[Any, ...]] = {}
    for name, items in base.items():
        if name in top.entries:
            merged[name] = top.entries[name]
        else:
            merged[name] = tuple(item for item in items if identity(item) not in taken)
    for name, items in top.entries.items():
        merged.setdefault(name, items)
    return {name: items for name, items in merged.items() if items}


def _inverse(entries: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {value: name for name, values in entries.items() for value in values}


def _grouped(mapping: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for value, name in mapping.items():
        grouped.setdefault(name, []).append(value)
    return {name: tuple(values) for name, values in grouped.items()}


def load_definitions(doc: Document, base: SegmentDefinitions | None = None) -> SegmentDefinitions:
    """Definitions from a parsed segments file, laid over ``base`` (see the module doc).

    Raises :class:`~processors.config.ConfigError` ("file:line: reason") for anything
    that cannot be used.
    """
    found = _Reader(doc).read()
    if base is None or found.replace:
        base = SegmentDefinitions()
    verticals = dict(base.verticals)
    if found.verticals is not None:
        verticals = _overlay_named(base.verticals, found.verticals, lambda item: item.key)
    tiers = dict(base.seniority_tiers)
    if found.seniority_tiers is not None:
        tiers = _inverse(_overlay_named(_grouped(base.seniority_tiers), found.seniority_tiers, lambda v: v))
    channels = dict(base.source_channels)
    if found.source_channels is not None:
        channels = _inverse(
            _overlay_named(_grouped(base.source_channels), found.source_channels, lambda v: v)
        )
    rules = [] if found.scoring_off else list(base.score_rules)
    if found.rules is not None:
        names = [rule.name for rule in rules]
        for entry in found.rules:
            if entry.name in names:
                at = names.index(entry.name)
                if entry.rule is None:
                    del rules[at], names[at]
                else:
                    rules[at] = entry.rule
            elif entry.rule is None:
                known = ", ".join(names) or "none"
                raise ConfigError(
                    doc.source,
                    entry.line,
                    f"there is no rule '{entry.name}' to disable; rules so far: {known}",
                )
            else:
                rules.append(entry.rule)
                names.append(entry.name)
    return SegmentDefinitions(
        size_bands=base.size_bands if found.size_bands is None else found.size_bands,
        revenue_bands=base.revenue_bands if found.revenue_bands is None else found.revenue_bands,
        verticals=verticals,
        seniority_tiers=tiers,
        source_channels=channels,
        score_base=base.score_base if found.score_base is None else found.score_base,
        score_rules=tuple(rules),
        scoring=not found.scoring_off and (base.scoring or found.rules is not None),
    )


def shipped_document() -> Document:
    """The segments file that ships with leadroute."""
    text = (
        resources.files("processors.segmentation").joinpath("data", SHIPPED_NAME).read_text(encoding="utf-8")
    )
    return parse_yaml(text, f"<shipped {SHIPPED_NAME}>")


@cache
def shipped_definitions() -> SegmentDefinitions:
    """The shipped definitions, read once per process."""
    return load_definitions(shipped_document())
