"""What ``leadroute route`` writes per lead: the whole event, the decision alone, or chosen fields.

The whole Assignment event carries the lead it decided (raw, normalized,
enrichment, CRM match, segment, trace): about 6.5 KB a lead, 65 MB for 10,000.
``--compact`` writes the decision without the lead (``lead_id`` ties it back);
``--output-fields`` writes only the dotted paths asked for, checked against the
event's Avro schema (``schemas/leadroute.Assignment.avsc``) before any lead is
read, so a typo is refused instead of giving a column of nulls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import schemas


def _named(schema: Any) -> dict[str, Any]:
    """Every named record type in the parsed schema, by its full name, so references resolve."""
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            if node.get("type") == "record":
                found[node["name"]] = node
                for item in node["fields"]:
                    walk(item["type"])
            elif node.get("type") == "array":
                walk(node["items"])
            elif node.get("type") == "map":
                walk(node["values"])

    walk(schema)
    return found


def _branches(node: Any, named: dict[str, Any]) -> list[Any]:
    """A type with unions opened, references resolved, arrays looked through, nulls left out."""
    if isinstance(node, list):
        return [t for branch in node for t in _branches(branch, named)]
    if isinstance(node, str):
        return [] if node == "null" else [named.get(node, node)]
    if isinstance(node, dict) and node.get("type") == "array":
        return _branches(node["items"], named)
    return [node]


def _known_below(node: Any, named: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for branch in _branches(node, named):
        if isinstance(branch, dict) and branch.get("type") == "record":
            names.extend(item["name"] for item in branch["fields"])
    return names


def check_path(path: str) -> None:
    """ValueError naming the first part of ``path`` the Assignment event does not have."""
    schema = schemas.parsed("Assignment")
    named = _named(schema)
    node: Any = schema
    walked: list[str] = []
    for part in path.split("."):
        nexts: list[Any] = []
        for branch in _branches(node, named):
            if isinstance(branch, dict) and branch.get("type") == "record":
                nexts.extend(item["type"] for item in branch["fields"] if item["name"] == part)
            elif isinstance(branch, dict) and branch.get("type") == "map":
                nexts.append(branch["values"])
        if not part or not nexts:
            where = ".".join(walked) or "the event"
            known = _known_below(node, named)
            hint = f"; {where} has {', '.join(known)}" if known else f"; {where} has no fields below it"
            raise ValueError(f"{path!r}: no field {part!r}{hint}")
        node = nexts
        walked.append(part)


def value_at(document: Any, path: str) -> Any:
    """The value at a dotted path; through a list, the list of each item's value; None if absent."""
    value = document
    for part in path.split("."):
        if isinstance(value, list):
            return [value_at(item, part) for item in value] if value else []
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _cell(value: Any) -> Any:
    """A CSV cell: text as it is, a list of texts joined by ' | ', anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " | ".join(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class OutputShape:
    """Which part of each assignment is written: all of it, all but the lead, or some fields."""

    fields: tuple[str, ...] = ()
    compact: bool = False

    @classmethod
    def of(cls, fields_text: str | None, compact: bool) -> OutputShape:
        """From ``--output-fields a,b.c`` and ``--compact``; ValueError for a path the event lacks."""
        fields = tuple(part.strip() for part in (fields_text or "").split(",") if part.strip())
        if fields_text is not None and not fields:
            raise ValueError("--output-fields names no field; give e.g. lead_id,destination,channel")
        for path in fields:
            check_path(path)
        return cls(fields=tuple(dict.fromkeys(fields)), compact=compact)

    def document(self, assignment: Any) -> dict[str, Any]:
        """The JSON object written for one assignment."""
        if self.fields:
            return {path: value_at(assignment, path) for path in self.fields}
        if self.compact:
            return {key: value for key, value in assignment.items() if key != "lead"}
        return assignment

    def line(self, assignment: Any) -> str:
        separators = (",", ":") if self.compact or self.fields else None
        return json.dumps(self.document(assignment), ensure_ascii=False, separators=separators) + "\n"

    def row(self, assignment: Any) -> list[Any]:
        """The CSV cells for ``fields`` (a list of texts joined by ' | ', objects as JSON)."""
        return [_cell(value_at(assignment, path)) for path in self.fields]

    @property
    def columns(self) -> Sequence[str]:
        return self.fields
