"""Conditions: compiled once at load into small objects, evaluated per lead.

Conditions are data, never code: each leaf is one field path, one operator and a
value, turned into a reader and a test when the file loads. Evaluation
short-circuits (``all`` stops at the first no, ``any`` at the first yes) and every
leaf it does evaluate appends a :class:`ConditionTrace` to the trace.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.config import Path
from processors.models import SOURCES
from processors.owners.models import (
    WEEKDAYS,
    Span,
    check_spans,
    minutes,
    parse_span,
    parse_weekdays,
    span_text,
    zone_for,
)
from processors.routing.plan import ConditionTrace
from processors.rules import paths, values
from processors.rules.findings import Findings

#: Regexes longer than this are refused: a routing rule that needs more is a smell,
#: and short patterns keep the cost of a pathological one bounded.
MAX_REGEX_LENGTH = 200
#: A regex only reads this many characters of a value.
MAX_REGEX_INPUT = 1000
OPERATORS: tuple[str, ...] = (
    "equals",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
    "range",
    "exists",
    "is_empty",
)
_TRACE_CACHE_LIMIT = 32


@dataclass(slots=True)
class Facts:
    """What is known about the lead before routes run: its territories and segments."""

    territories: tuple[str, ...] = ()
    segments: dict[str, bool] = field(default_factory=dict)
    #: Names of the segments the lead is in, in file order; set once all are evaluated.
    matched: tuple[str, ...] | None = None

    def segment_names(self) -> tuple[str, ...]:
        if self.matched is not None:
            return self.matched
        return tuple(name for name, inside in self.segments.items() if inside)


Trace = list[ConditionTrace] | None


class Condition:
    """Base of every compiled condition."""

    __slots__ = ("line",)
    line: int | None

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError


class Leaf(Condition):
    """One test of one value: a field comparison or a territory/segment/source shorthand.

    ``read`` takes the lead (field comparisons) or, when ``from_facts``, the lead's
    :class:`Facts` (territory and segment shorthands).
    """

    __slots__ = ("_cache", "check", "description", "from_facts", "read")

    def __init__(
        self,
        description: str,
        read: Callable[[Any], Any],
        check: Callable[[Any], bool],
        line: int | None,
        from_facts: bool = False,
    ) -> None:
        self.description = description
        self.read = read
        self.check = check
        self.line = line
        self.from_facts = from_facts
        self._cache: dict[Any, ConditionTrace] = {}

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        seen = self.read(facts if self.from_facts else lead)
        matched = self.check(seen)
        if out is not None:
            out.append(self._trace(seen, matched))
        return matched

    def _trace(self, seen: Any, matched: bool) -> ConditionTrace:
        # Most values repeat (booleans, bands, countries): reuse their immutable trace.
        try:
            key = (type(seen), seen, matched)
            found = self._cache.get(key)
        except TypeError:
            return ConditionTrace(self.description, seen, matched, self.line)
        if found is None:
            found = ConditionTrace(self.description, seen, matched, self.line)
            if len(self._cache) < _TRACE_CACHE_LIMIT:
                self._cache[key] = found
        return found

    def summary(self) -> str:
        return self.description


class AllOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: tuple[Condition, ...], line: int | None) -> None:
        self.children = children
        self.line = line

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop is faster than all() here (hot path)
            if not child.test(lead, facts, out):
                return False
        return True

    def summary(self) -> str:
        return f"all of {len(self.children)} conditions"


class AnyOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: tuple[Condition, ...], line: int | None) -> None:
        self.children = children
        self.line = line

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop is faster than any() here (hot path)
            if child.test(lead, facts, out):
                return True
        return False

    def summary(self) -> str:
        return f"any of {len(self.children)} conditions"


class Not(Condition):
    """Negation; it adds its own trace line after its child's, so a reader sees the flip."""

    __slots__ = ("_traces", "child", "description")

    def __init__(self, child: Condition, line: int | None) -> None:
        self.child = child
        self.line = line
        self.description = f"not ({child.summary()})"
        self._traces = {
            inner: ConditionTrace(self.description, inner, not inner, line) for inner in (True, False)
        }

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        inner = self.child.test(lead, facts, out)
        if out is not None:
            out.append(self._traces[inner])
        return not inner

    def summary(self) -> str:
        return self.description


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WHOLE_DAY: tuple[Span, ...] = ((0, 24 * 60),)


class Arrived(Condition):
    """``arrived``: the lead's ``received_at_ms`` falls on one of ``days`` within one of ``hours``.

    Judged on the wall clock of the rule's time zone, from the lead alone (never
    the current time), so a lead is planned the same whenever it is replayed.
    """

    __slots__ = ("days", "description", "every_moment", "spans", "zone")

    def __init__(
        self, description: str, days: frozenset[int], spans: tuple[Span, ...], zone: Any, line: int | None
    ) -> None:
        self.description = description
        self.days = days  # weekday numbers, Monday = 0
        self.spans = spans  # minutes after local midnight, start inclusive, end exclusive
        self.zone = zone
        self.line = line
        self.every_moment = len(days) == 7 and spans == _WHOLE_DAY

    def local(self, lead: Mapping[str, Any]) -> dt.datetime | None:
        """The arrival on the rule's wall clock; ``None`` when the lead has no arrival time."""
        at = lead.get("received_at_ms")
        if type(at) is not int:
            return None
        try:
            return (_EPOCH + dt.timedelta(milliseconds=at)).astimezone(self.zone)
        except OverflowError:
            return None

    def test(self, lead: Mapping[str, Any], facts: Facts, out: Trace) -> bool:
        local = self.local(lead)
        matched = False
        seen = None
        if local is not None:
            minute = local.hour * 60 + local.minute
            matched = local.weekday() in self.days and any(a <= minute < b for a, b in self.spans)
            seen = f"{_DAY_NAMES[local.weekday()]} {local:%Y-%m-%d %H:%M %Z}"
        if out is not None:
            out.append(ConditionTrace(self.description, seen, matched, self.line))
        return matched

    def summary(self) -> str:
        return self.description


# --- compiling -------------------------------------------------------------------------


@dataclass(slots=True)
class Scope:
    """What a condition may refer to, and where to report what it may not."""

    findings: Findings
    territories: frozenset[str]
    segments: frozenset[str]
    #: Segments referenced by the condition being compiled (to detect cycles).
    segment_refs: set[str] = field(default_factory=set)
    #: Every field path used, with where (for the docs and ``check``).
    fields_used: list[tuple[str, Path]] = field(default_factory=list)
    #: Every pool the file defines (even one that failed to compile), and the member ids of
    #: those that compiled, for ``owner_in_pool``.
    pool_names: frozenset[str] = frozenset()
    pool_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Pools referred to by the condition being compiled.
    pools_used: set[str] = field(default_factory=set)


def compile_condition(data: Any, path: Path, scope: Scope) -> Condition | None:
    """Compile a schema-valid condition; ``None`` when a semantic error was reported."""
    line = scope.findings.doc.line(path)
    if "field" in data:
        return _compile_leaf(data, path, scope, line)
    ((key, value),) = data.items()
    if key in {"all", "any"}:
        children = [compile_condition(child, (*path, key, i), scope) for i, child in enumerate(value)]
        if any(child is None for child in children):
            return None
        compiled = tuple(child for child in children if child is not None)
        return AllOf(compiled, line) if key == "all" else AnyOf(compiled, line)
    if key == "not":
        child = compile_condition(value, (*path, key), scope)
        return None if child is None else Not(child, line)
    if key == "exists":
        return _compile_leaf({"field": value, "exists": True}, path, scope, line)
    if key == "arrived":
        return _arrived(value, (*path, key), scope, line)
    if key == "owner_in_pool":
        return _owner_in_pool(value, (*path, key), scope, line)
    names = [value] if isinstance(value, str) else list(value)
    if key == "territory":
        return _territory(names, path, scope, line)
    if key == "segment":
        return _segment(names, path, scope, line)
    return _source(names, path, scope, line)


def _territories_of(facts: Facts) -> tuple[str, ...]:
    return facts.territories


def _choice(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "in [" + ", ".join(names) + "]"


def _territory(names: list[str], path: Path, scope: Scope, line: int | None) -> Condition | None:
    unknown = [name for name in names if name not in scope.territories]
    for name in unknown:
        scope.findings.error(
            (*path, "territory"),
            "unknown_territory",
            f"territory '{name}' is not defined. {_did_you_mean(name, scope.territories, 'territories')}",
        )
    if unknown:
        return None
    wanted = frozenset(names)
    return Leaf(
        f"territory {_choice(names)}",
        _territories_of,
        lambda seen: not wanted.isdisjoint(seen),
        line,
        from_facts=True,
    )


def _segment(names: list[str], path: Path, scope: Scope, line: int | None) -> Condition | None:
    unknown = [name for name in names if name not in scope.segments]
    for name in unknown:
        scope.findings.error(
            (*path, "segment"),
            "unknown_segment",
            f"segment '{name}' is not defined. {_did_you_mean(name, scope.segments, 'segments')}",
        )
    if unknown:
        return None
    scope.segment_refs.update(names)
    wanted = tuple(names)
    return Leaf(
        f"segment {_choice(names)}",
        Facts.segment_names,
        lambda seen: any(name in seen for name in wanted),
        line,
        from_facts=True,
    )


def _source(names: list[str], path: Path, scope: Scope, line: int | None) -> Condition | None:
    bad = [name for name in names if name.casefold() not in SOURCES]
    for name in bad:
        scope.findings.error(
            (*path, "source"),
            "unknown_source",
            f"source '{name}' is not a lead source. {_did_you_mean(name, SOURCES, 'sources')}",
        )
    if bad:
        return None
    scope.fields_used.append(("normalized.source", path))
    read_source = paths.getter("normalized.source")
    wanted = values.canon_set(list(names))
    return Leaf(
        f"source {_choice(names)}",
        read_source,
        lambda seen: isinstance(seen, str) and ("s", seen.casefold()) in wanted,
        line,
    )


#: What ``owner_in_pool`` calls each owner in the trace.
_OWNER_WORDS = {"account_owner": "account owner", "existing_owner": "existing owner"}


def _owner_in_pool(spec: Mapping[str, Any], path: Path, scope: Scope, line: int | None) -> Condition | None:
    source = spec["owner"]
    names = [spec["pool"]] if isinstance(spec["pool"], str) else list(spec["pool"])
    unknown = [name for name in names if name not in scope.pool_names]
    for name in unknown:
        scope.findings.error(
            (*path, "pool"),
            "unknown_pool",
            f"pool '{name}' is not defined. {_did_you_mean(name, scope.pool_names, 'pools')}",
        )
    scope.pools_used.update(name for name in names if name in scope.pool_names)
    if unknown or any(name not in scope.pool_members for name in names):
        return None  # unknown, or a broken pool already reported
    members = frozenset().union(*(scope.pool_members[name] for name in names))
    if not members:
        scope.findings.warning(
            (*path, "pool"),
            "empty_pool",
            f"pool {_choice(names)} has no members, so `owner_in_pool:` never holds. "
            "Add the team's owners to the pool, or remove the condition.",
        )
    field_path = paths.CRM_OWNER_PATHS[source]
    scope.fields_used.append((field_path, path))

    def check(seen: Any) -> bool:
        return type(seen) is str and seen in members

    return Leaf(
        f"{_OWNER_WORDS[source]} ({field_path}) in pool {_choice(names)}",
        paths.getter(field_path),
        check,
        line,
    )


def _arrived(spec: Mapping[str, Any], path: Path, scope: Scope, line: int | None) -> Condition | None:
    ok = True
    zone_name: str = spec["time_zone"]
    try:
        zone = zone_for(zone_name)
    except ValueError:
        ok = False
        zone = None
        scope.findings.error(
            (*path, "time_zone"),
            "unknown_time_zone",
            f"'{zone_name}' is not an IANA time zone. {_zone_hint(zone_name)}",
        )
    days_text = spec.get("days")
    days: list[str] = list(WEEKDAYS)
    if days_text is not None:
        try:
            days = parse_weekdays(days_text)
        except ValueError as error:
            ok = False
            scope.findings.error(
                (*path, "days"),
                "invalid_days",
                f"{error}. Write days as in owners' working hours: mon-fri, sat-sun, fri-mon or sat,sun.",
            )
    hours = spec.get("hours")
    texts = [] if hours is None else [hours] if isinstance(hours, str) else list(hours)
    spans: list[Span] = []
    for index, text in enumerate(texts):
        where = (*path, "hours") if isinstance(hours, str) else (*path, "hours", index)
        try:
            spans.append(parse_span(text))
        except ValueError as error:
            ok = False
            scope.findings.error(where, "invalid_hours", _hours_problem(text, error))
    if ok and spans:
        try:
            check_spans("hours", tuple(spans))
        except ValueError as error:
            ok = False
            scope.findings.error((*path, "hours"), "invalid_hours", f"{error}.")
    if not ok:
        return None
    scope.fields_used.append(("received_at_ms", path))
    ordered = check_spans("hours", tuple(spans)) if spans else _WHOLE_DAY
    words = [days_text.strip().lower()] if days_text is not None else []
    words += [", ".join(span_text(span) for span in ordered)] if spans else []
    condition = Arrived(
        f"arrived {' '.join(words)} {zone_name}",
        frozenset(WEEKDAYS.index(day) for day in days),
        ordered,
        zone,
        line,
    )
    if condition.every_moment:
        scope.findings.warning(
            path,
            "arrival_always",
            "this `arrived:` covers every day and every hour, so it holds for every lead. "
            "Narrow `days:` or `hours:`, or remove the condition.",
        )
    return condition


def _zone_hint(name: str) -> str:
    import difflib
    import zoneinfo

    close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1, cutoff=0.6)
    if close:
        return f"Did you mean '{close[0]}'?"
    return "Use an IANA name such as Europe/Berlin, America/New_York or UTC."


def _hours_problem(text: str, error: ValueError) -> str:
    start, sep, end = str(text).strip().partition("-")
    try:
        order = (minutes(start), minutes(end)) if sep else None
    except ValueError:
        order = None
    if order is not None and order[0] == order[1]:
        return f"'{text}' is empty: it ends where it starts. Give the hours it covers, e.g. '09:00-17:00'."
    if order is not None and order[1] < order[0]:
        return (
            f"'{text}' ends before it starts. A range past midnight is two ranges: "
            f"hours: ['{start.strip()}-24:00', '00:00-{end.strip()}'] (each applies on every day in `days:`)."
        )
    return (
        f"'{text}' is not a range of hours ({error}). "
        "Write 'HH:MM-HH:MM', e.g. '09:00-17:00'; the end is exclusive and may be 24:00."
    )


def _did_you_mean(name: str, known: Any, what: str) -> str:
    import difflib

    options = sorted(known)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"Did you mean '{close[0]}'?"
    if not options:
        return f"Define it under `{what}:` first."
    shown = ", ".join(options[:8]) + (", …" if len(options) > 8 else "")
    return f"Define it under `{what}:` or use one of: {shown}."


def _compile_leaf(data: Mapping[str, Any], path: Path, scope: Scope, line: int | None) -> Condition | None:
    field_path: str = data["field"]
    node = paths.lookup(field_path)
    if node is None:
        suggestion = paths.closest(field_path)
        hint = f"Did you mean '{suggestion}'?" if suggestion else "See the list of fields in docs/rules.md."
        scope.findings.error(
            (*path, "field"), "unknown_field", f"'{field_path}' is not a field of a lead. {hint}"
        )
        return None
    scope.fields_used.append((field_path, path))
    ((op, rule_value),) = ((k, v) for k, v in data.items() if k != "field")
    builder = _BUILDERS[op]
    built = builder(rule_value, (*path, op), scope)
    if built is None:
        return None
    text, check = built
    read = paths.getter(field_path)
    return Leaf(f"{field_path} {text}", read, check, line)


Built = tuple[str, Callable[[Any], bool]] | None


_SEQUENCES = (list, tuple)


def _any_item(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """Lists match when any item does; a missing value never matches."""

    def check(seen: Any) -> bool:
        if seen is None:
            return False
        if type(seen) in _SEQUENCES:
            return any(test(item) for item in seen)
        return test(seen)

    return check


def _membership(rule_values: list[Any]) -> Callable[[Any], bool]:
    wanted = values.canon_set(rule_values)
    texts = frozenset(text for kind, text in wanted if kind == "s")
    has_numbers = any(kind == "n" for kind, _ in wanted)
    has_bools = any(kind == "b" for kind, _ in wanted)
    converts = has_numbers or has_bools

    def test(seen: Any) -> bool:
        if type(seen) is str:
            if seen.casefold() in texts:
                return True
            if not converts:
                return False
        return values.member(seen, wanted, has_numbers, has_bools)

    return test


def _matches(rule_values: list[Any]) -> Callable[[Any], bool]:
    """equals / in: the value (or any item of a list) is one of ``rule_values``.

    Written flat on purpose: this is the hottest test in most rule files.
    """
    wanted = values.canon_set(rule_values)
    texts = frozenset(text for kind, text in wanted if kind == "s")
    flags = frozenset(flag for kind, flag in wanted if kind == "b")
    has_numbers = any(kind == "n" for kind, _ in wanted)
    has_bools = bool(flags)
    converts = has_numbers or has_bools
    member = values.member

    def check(seen: Any) -> bool:
        kind = type(seen)
        if kind is str:
            if seen.casefold() in texts:
                return True
            return converts and member(seen, wanted, has_numbers, has_bools)
        if kind is bool:
            return seen in flags
        if seen is None:
            return False
        if kind in _SEQUENCES:
            return any(member(item, wanted, has_numbers, has_bools) for item in seen)
        return member(seen, wanted, has_numbers, has_bools)

    return check


def _equals(value: Any, path: Path, scope: Scope) -> Built:
    return f"equals {values.show(value)}", _matches([value])


def _in(value: list[Any], path: Path, scope: Scope) -> Built:
    return f"in {values.show(value)}", _matches(value)


def _not_in(value: list[Any], path: Path, scope: Scope) -> Built:
    inside = _membership(value)

    def check(seen: Any) -> bool:
        if seen is None:
            return False
        if type(seen) in _SEQUENCES:
            return not any(inside(item) for item in seen)
        return not inside(seen)

    return f"not in {values.show(value)}", check


def _contains(value: Any, path: Path, scope: Scope) -> Built:
    needle = str(values.as_text(value) if not isinstance(value, bool) else value).casefold()
    inside = _membership([value])

    def check(seen: Any) -> bool:
        if isinstance(seen, str):
            return needle in seen.casefold()
        if isinstance(seen, list | tuple):
            return any(inside(item) for item in seen)
        return False

    return f"contains {values.show(value)}", check


def _affix(kind: str) -> Callable[[Any, Path, Scope], Built]:
    def build(value: Any, path: Path, scope: Scope) -> Built:
        options = (value,) if isinstance(value, str) else tuple(value)
        folded = tuple(option.casefold() for option in options)

        def test(seen: Any) -> bool:
            text = values.as_text(seen)
            if text is None:
                return False
            text = text.casefold()
            return text.startswith(folded) if kind == "starts_with" else text.endswith(folded)

        shown = options[0] if len(options) == 1 else values.show(list(options))
        words = "starts with" if kind == "starts_with" else "ends with"
        return f"{words} {shown}", _any_item(test)

    return build


def _regex(value: str, path: Path, scope: Scope) -> Built:
    if len(value) > MAX_REGEX_LENGTH:
        scope.findings.error(
            path,
            "invalid_regex",
            f"the regex is {len(value)} characters long; the limit is {MAX_REGEX_LENGTH}. "
            "Split it into several conditions under `any:`.",
        )
        return None
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as error:
        scope.findings.error(
            path,
            "invalid_regex",
            f"'{value}' is not a valid regular expression ({error.msg}). "
            "Fix the pattern, or use contains/starts_with for plain text.",
        )
        return None

    def test(seen: Any) -> bool:
        text = values.as_text(seen)
        return text is not None and pattern.search(text[:MAX_REGEX_INPUT]) is not None

    return f"matches /{value}/", _any_item(test)


_RANGE_WORDS = {"min": "at least", "max": "at most", "above": "above", "below": "below"}


def _range(value: Mapping[str, Any], path: Path, scope: Scope) -> Built:
    bounds: dict[str, Any] = {}
    for key, raw in value.items():
        parsed = values.parse_bound(raw)
        if parsed is None:
            scope.findings.error(
                (*path, key),
                "invalid_range",
                f"range bound {key}: '{raw}' is neither a number nor an ISO date. "
                "Write a number (50000) or a date (2026-01-31 or 2026-01-31T09:00:00Z).",
            )
            return None
        bounds[key] = parsed
    kinds = {_bound_kind(bound) for bound in bounds.values()}
    if len(kinds) > 1:
        scope.findings.error(
            path,
            "invalid_range",
            "range bounds mix numbers, dates and date-times. Give both bounds the same form.",
        )
        return None
    low_key = "min" if "min" in bounds else "above" if "above" in bounds else None
    high_key = "max" if "max" in bounds else "below" if "below" in bounds else None
    if low_key and high_key and bounds[low_key] > bounds[high_key]:
        scope.findings.error(
            path,
            "invalid_range",
            f"the range is empty: {low_key} {values.show(value[low_key])} is above "
            f"{high_key} {values.show(value[high_key])}. Swap the bounds.",
        )
        return None
    kind = kinds.pop()
    low = bounds.get(low_key) if low_key else None
    high = bounds.get(high_key) if high_key else None
    low_inclusive = low_key == "min"
    high_inclusive = high_key == "max"

    def within(point: Any) -> bool:
        if low is not None and (point < low if low_inclusive else point <= low):
            return False
        return not (high is not None and (point > high if high_inclusive else point >= high))

    if kind == "number":

        def test(seen: Any) -> bool:
            number = values.as_number(seen)
            return number is not None and within(number)

    else:

        def test(seen: Any) -> bool:
            moment = values.as_datetime(seen)
            if moment is None:
                return False
            return within(moment.date() if kind == "date" else moment)

    words = " and ".join(f"{_RANGE_WORDS[key]} {values.show(value[key])}" for key in value)
    return words, _any_item(test)


def _bound_kind(bound: Any) -> str:
    if isinstance(bound, dt.datetime):
        return "datetime"
    if isinstance(bound, dt.date):
        return "date"
    return "number"


def _exists(value: bool, path: Path, scope: Scope) -> Built:
    if value:
        return "exists", lambda seen: seen is not None
    return "is missing", lambda seen: seen is None


def _is_empty(value: bool, path: Path, scope: Scope) -> Built:
    if value:
        return "is empty", values.is_empty
    return "is not empty", lambda seen: not values.is_empty(seen)


_BUILDERS: dict[str, Callable[[Any, Path, Scope], Built]] = {
    "equals": _equals,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
    "starts_with": _affix("starts_with"),
    "ends_with": _affix("ends_with"),
    "regex": _regex,
    "range": _range,
    "exists": _exists,
    "is_empty": _is_empty,
}
