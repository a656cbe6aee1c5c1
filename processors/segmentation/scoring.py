"""Points-based lead score: rules of the form "when <condition>, add <points>, because <reason>".

Conditions are plain data, evaluated without ``eval``, and deliberately small:

* ``{field: enrichment.seniority, equals: vp}``
* ``{field: normalized.source, in: [web, chat]}``
* ``{field: enrichment.annual_revenue, range: {min: 1000000, max: 9999999}}`` (inclusive; one bound may go)
* ``{field: crm.account.id, exists: true}`` (present: not null, not empty text, not an empty list)
* ``{all: [cond, ...]}`` and ``{any: [cond, ...]}``

Text compares case-insensitively. When the field holds a list (``enrichment.functions``),
``equals`` and ``in`` ask whether any item matches. A missing section (no CRM match yet)
makes every test false except ``exists: false``. The full routing rule language lives
elsewhere; this stays self-contained so scoring has no dependency on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from processors.config import Document, described
from processors.config import Path as NodePath
from processors.segmentation.fields import check_path, value_at

#: The score is clipped to this range.
SCORE_MIN, SCORE_MAX = 0, 100

OPERATORS: tuple[str, ...] = ("equals", "in", "range", "exists")
GROUPS: tuple[str, ...] = ("all", "any")
_RANGE_KEYS = ("min", "max")

Scalar = str | int | float | bool


class ScoreReason(TypedDict):
    """One rule that fired, as the segment section's ``score_breakdown`` shows it."""

    rule: str
    attribute: str
    points: int
    reason: str


def _same(value: Any, wanted: Scalar) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted
    if isinstance(wanted, str):
        return isinstance(value, str) and value.casefold() == wanted.casefold()
    return isinstance(value, int | float) and value == wanted


def _items(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else (value,)


@dataclass(frozen=True, slots=True)
class Test:
    """One field test: ``operator`` is equals, in, range or exists."""

    field: str
    operator: str
    argument: Any
    path: tuple[str, ...]

    def holds(self, lead: Mapping[str, Any]) -> bool:
        value = value_at(lead, self.path)
        if self.operator == "exists":
            present = value is not None and value not in ("", [], {})
            return present is self.argument
        if self.operator == "equals":
            return any(_same(item, self.argument) for item in _items(value))
        if self.operator == "in":
            return any(_same(item, wanted) for item in _items(value) for wanted in self.argument)
        low, high = self.argument
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        return (low is None or value >= low) and (high is None or value <= high)

    def fields(self) -> tuple[str, ...]:
        return (self.field,)


@dataclass(frozen=True, slots=True)
class Group:
    """``all`` (every part holds) or ``any`` (at least one does)."""

    kind: str
    parts: tuple[Condition, ...]

    def holds(self, lead: Mapping[str, Any]) -> bool:
        results = (part.holds(lead) for part in self.parts)
        return all(results) if self.kind == "all" else any(results)

    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for part in self.parts for name in part.fields()))


Condition = Test | Group


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """Add ``points`` (negative to subtract) when ``when`` holds; ``reason`` says why to a person."""

    name: str
    points: int
    when: Condition
    reason: str

    @property
    def attribute(self) -> str:
        """The field(s) the rule reads, for the breakdown."""
        return ", ".join(self.when.fields())


def score(
    lead: Mapping[str, Any], rules: Sequence[ScoreRule], base: int = 0
) -> tuple[int, list[ScoreReason]]:
    """The clipped score and every rule that fired, in file order."""
    total = base
    fired: list[ScoreReason] = []
    for rule in rules:
        if rule.when.holds(lead):
            total += rule.points
            fired.append(
                {"rule": rule.name, "attribute": rule.attribute, "points": rule.points, "reason": rule.reason}
            )
    return max(SCORE_MIN, min(SCORE_MAX, total)), fired


# --- reading conditions from a file --------------------------------------------------------------


def _scalar(doc: Document, path: NodePath, value: Any, what: str) -> Scalar:
    if not isinstance(value, str | int | float | bool):
        raise doc.error(path, f"{what} must be text, a number, true or false, not {described(value)}")
    return value


def _bound(doc: Document, path: NodePath, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise doc.error(path, f"a range bound must be a number, not {described(value)}; e.g. 'min: 1000000'")
    return value


def parse_condition(doc: Document, path: NodePath, data: Any) -> Condition:
    """A condition from its data form, or a ConfigError naming the line and the fix."""
    example = "{field: enrichment.seniority, equals: vp}"
    if not isinstance(data, dict) or not data:
        raise doc.error(path, f"a condition must be a mapping such as {example}, not {described(data)}")
    groups = [key for key in data if key in GROUPS]
    if groups:
        if len(data) != 1:
            raise doc.error(path, f"'{groups[0]}' must stand alone: put every test inside its list")
        kind = groups[0]
        parts = data[kind]
        where = (*path, kind)
        if not isinstance(parts, list) or not parts:
            raise doc.error(where, f"'{kind}' takes a non-empty list of conditions, e.g. {kind}: [{example}]")
        return Group(kind, tuple(parse_condition(doc, (*where, i), part) for i, part in enumerate(parts)))
    for key in data:
        if key != "field" and key not in OPERATORS:
            raise doc.error(
                (*path, key),
                f"unknown operator '{key}'; a test takes 'field' and one of {', '.join(OPERATORS)}, "
                f"or use {' / '.join(GROUPS)} to combine tests",
            )
    if "field" not in data:
        raise doc.error(path, f"this test names no field; add one, e.g. {example}")
    field = data["field"]
    if not isinstance(field, str):
        raise doc.error((*path, "field"), f"field must be a dotted path in text, not {described(field)}")
    problem = check_path(field.strip())
    if problem:
        raise doc.error((*path, "field"), problem)
    operators = [key for key in data if key in OPERATORS]
    if len(operators) != 1:
        found = f"{len(operators)} ({', '.join(operators)})" if operators else "none"
        raise doc.error(path, f"a test needs exactly one of {', '.join(OPERATORS)}; found {found}")
    operator = operators[0]
    value = data[operator]
    where = (*path, operator)
    argument: Any
    if operator == "equals":
        argument = _scalar(doc, where, value, "equals")
    elif operator == "in":
        if not isinstance(value, list) or not value:
            raise doc.error(
                where, f"'in' takes a non-empty list of values, e.g. in: [web, chat], not {described(value)}"
            )
        argument = tuple(
            _scalar(doc, (*where, i), item, "each value of 'in'") for i, item in enumerate(value)
        )
    elif operator == "exists":
        if not isinstance(value, bool):
            raise doc.error(where, f"'exists' takes true or false, not {described(value)}")
        argument = value
    else:
        if not isinstance(value, dict) or not value:
            raise doc.error(
                where, "'range' takes a mapping with min, max or both, e.g. range: {min: 10, max: 99}"
            )
        for key in value:
            if key not in _RANGE_KEYS:
                raise doc.error((*where, key), f"unknown range key '{key}'; a range takes min and max")
        low = _bound(doc, (*where, "min"), value.get("min"))
        high = _bound(doc, (*where, "max"), value.get("max"))
        if low is not None and high is not None and low > high:
            raise doc.error(where, f"range min {low:g} is above max {high:g}; swap them")
        argument = (low, high)
    name = field.strip()
    return Test(name, operator, argument, tuple(name.split(".")))


def parse_rule(doc: Document, path: NodePath, data: Any) -> ScoreRule:
    """One scoring rule; ``disabled`` rules are handled by the loader before this."""
    if "name" not in data:
        raise doc.error(
            path, "this rule has no name; add one, e.g. 'name: enterprise' (names must be unique)"
        )
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise doc.error((*path, "name"), f"name must be text, not {described(name)}")
    for key in ("points", "when", "reason"):
        if key not in data:
            raise doc.error(path, f"rule '{name}' has no '{key}'; a rule needs name, points, when and reason")
    points = data["points"]
    if isinstance(points, bool) or not isinstance(points, int):
        raise doc.error(
            (*path, "points"),
            f"points must be a whole number such as 10 or -20, not {described(points)}",
        )
    reason = data["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise doc.error(
            (*path, "reason"), "reason must be a short sentence a person can read, e.g. 'Enterprise company'"
        )
    when = parse_condition(doc, (*path, "when"), data["when"])
    return ScoreRule(name.strip(), points, when, reason.strip())
