"""Field paths: which dotted paths a rule may name, and how to read one from a lead.

The known paths are derived from the Avro schemas (``schemas/leadroute.Lead.avsc``
and the records it refers to) when first needed, so a field added to a schema is
routable at once and a typo in a rule file is caught at load with a suggestion.
Maps (``raw.custom``, ``enrichment.provenance``) accept any key; a path through an
array of records (``crm.open_opportunities.stage``) reads that field of every item.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import schemas

#: The owners of the CRM records a lead matched, and where each is read:
#: ``account_owner`` (the account's) and ``existing_owner`` (the contact's or lead's).
CrmOwnerSource = Literal["account_owner", "existing_owner"]
CRM_OWNER_PATHS: dict[CrmOwnerSource, str] = {
    "account_owner": "crm.account.owner_id",
    "existing_owner": "crm.person.owner_id",
}

#: Type of the value at a path, as far as the schema says.
Kind = str  # "string" | "number" | "boolean" | "record" | "map" | "array"

_NUMBERS = frozenset({"int", "long", "float", "double"})
WILDCARD = "*"


@dataclass(slots=True)
class PathNode:
    kind: Kind
    children: dict[str, PathNode] = field(default_factory=dict)
    #: Reading this node goes through an array of records (values come back as a list).
    through_array: bool = False


def _node(avro: Any, named: dict[str, Any], through_array: bool) -> PathNode:
    if isinstance(avro, list):  # a union: the non-null branch decides
        branches = [branch for branch in avro if branch != "null"]
        return _node(branches[0], named, through_array) if branches else PathNode("string")
    if isinstance(avro, str):
        if avro in named:
            return _node(named[avro], named, through_array)
        if avro in _NUMBERS:
            return PathNode("number", through_array=through_array)
        return PathNode("boolean" if avro == "boolean" else "string", through_array=through_array)
    kind = avro.get("type")
    if kind == "record":
        named.setdefault(avro["name"], avro)
        node = PathNode("record", through_array=through_array)
        for item in avro["fields"]:
            node.children[item["name"]] = _node(item["type"], named, through_array)
        return node
    if kind == "map":
        node = PathNode("map", through_array=through_array)
        node.children[WILDCARD] = _node(avro["values"], named, through_array)
        return node
    if kind == "array":
        items = _node(avro["items"], named, True)
        node = PathNode("array", dict(items.children), through_array=through_array)
        return node
    if kind in {"enum", "fixed"}:
        return PathNode("string", through_array=through_array)
    return _node(kind, named, through_array)


@cache
def lead_tree() -> PathNode:
    """The tree of every field a lead can have, from the Avro schemas.

    ``duplicate`` is the section the assign step adds before planning when the
    lead repeats a recently routed one: the Assignment's ``duplicate_of`` record.
    """
    tree = _node(schemas.parsed("Lead"), {}, False)
    assignment = schemas.parsed("Assignment")
    (duplicate_of,) = (item["type"] for item in assignment["fields"] if item["name"] == "duplicate_of")
    tree.children["duplicate"] = _node(duplicate_of, {}, False)
    return tree


def lookup(path: str) -> PathNode | None:
    """The schema node at a dotted path, or ``None`` when the lead has no such field."""
    node = lead_tree()
    for part in path.split("."):
        child = node.children.get(part) or node.children.get(WILDCARD)
        if child is None:
            return None
        node = child
    return node


@cache
def known_paths() -> tuple[str, ...]:
    """Every known path, maps shown with ``*`` for their key (for suggestions and docs)."""
    found: list[str] = []

    def walk(node: PathNode, prefix: str) -> None:
        for name, child in node.children.items():
            path = f"{prefix}.{name}" if prefix else name
            found.append(path)
            walk(child, path)

    walk(lead_tree(), "")
    return tuple(found)


def closest(path: str) -> str | None:
    """The known path most like ``path``, for a "did you mean" sentence."""
    candidates = [p for p in known_paths() if WILDCARD not in p]
    # A right field in the wrong section ("normalized.seniority") first: match on the last part.
    last = path.rsplit(".", 1)[-1]
    same_leaf = [p for p in candidates if p.rsplit(".", 1)[-1] == last]
    if same_leaf:
        return difflib.get_close_matches(path, same_leaf, n=1, cutoff=0.0)[0]
    found = difflib.get_close_matches(path, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


Getter = Callable[[Mapping[str, Any]], Any]


def _step(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key)
    if isinstance(value, list):
        found: list[Any] = []
        for item in value:
            got = _step(item, key)
            if isinstance(got, list):
                found.extend(got)
            elif got is not None:
                found.append(got)
        return found or None
    return None


def getter(path: str) -> Getter:
    """A fast reader for ``path``: ``None`` whenever any step is missing or not a record."""
    parts = tuple(path.split("."))
    node = lookup(path)
    if node is not None and node.through_array:
        return lambda lead: _deep(lead, parts)
    if len(parts) == 1:
        (a,) = parts
        return lambda lead: lead.get(a)
    if len(parts) == 2:
        a, b = parts

        def get2(lead: Mapping[str, Any]) -> Any:
            section = lead.get(a)
            return section.get(b) if type(section) is dict or isinstance(section, Mapping) else None

        return get2
    if len(parts) == 3:
        a, b, c = parts

        def get3(lead: Mapping[str, Any]) -> Any:
            section = lead.get(a)
            if not (type(section) is dict or isinstance(section, Mapping)):
                return None
            record = section.get(b)
            return record.get(c) if type(record) is dict or isinstance(record, Mapping) else None

        return get3
    return lambda lead: _deep(lead, parts)


def _deep(lead: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = lead
    for part in parts:
        value = _step(value, part)
        if value is None:
            return None
    return value
