"""Decoding just the parts of a lead a stage reads.

The assign stage plans a lead from two dozen of its ~200 fields. Avro lets a
reader ask for a subset of the writer's fields (schema resolution): the rest is
skipped in fastavro's compiled reader without building Python objects, which
costs a third of a full decode. The subset is a *reader schema* built here from
field paths such as ``crm.account.owner_id``:

* a path keeps every record on its way (``crm`` in ``Lead``, ``account`` in
  ``CrmMatch``), so whether a section is there or null reads the same;
* a path that ends on a record, an array or a map keeps all of it;
* a path through an array keeps the named field of each item; a path through a
  map keeps the map whole.

A named record type used in several places keeps the union of what each place
needs (a name has one definition).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from typing import Any

import fastavro

import schemas
from processors.errors import InvalidLead
from streams.serde import HeaderList, LeadDecoder

_WHOLE = None  # marker in `needed`: keep every field of the type, recursively


def _named_types(schema: Any, named: dict[str, Any]) -> None:
    """Collect every named type's definition by full name."""
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, named)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in {"record", "enum", "fixed"}:
            named.setdefault(schema["name"], schema)
            for item in schema.get("fields", ()):
                _named_types(item["type"], named)
        elif kind == "array":
            _named_types(schema["items"], named)
        elif kind == "map":
            _named_types(schema["values"], named)


def _record_of(schema: Any, named: dict[str, Any]) -> dict[str, Any] | None:
    """The record a field's type leads to (through a nullable union), else None."""
    if isinstance(schema, list):
        records = [r for r in (_record_of(branch, named) for branch in schema) if r is not None]
        return records[0] if len(records) == 1 else None
    if isinstance(schema, str):
        return _record_of(named[schema], named) if schema in named else None
    if schema.get("type") == "record":
        return schema
    return None


def _container_of(schema: Any, named: dict[str, Any]) -> dict[str, Any] | None:
    """The array or map a field's type is (through a nullable union), else None."""
    if isinstance(schema, list):
        found = [c for c in (_container_of(branch, named) for branch in schema) if c is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(schema, dict) and schema.get("type") in {"array", "map"}:
        return schema
    return None


def _mark_whole(schema: Any, named: dict[str, Any], needed: dict[str, set[str] | None]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _mark_whole(branch, named, needed)
        return
    if isinstance(schema, str):
        if schema in named and needed.get(schema, set()) is not _WHOLE:
            needed[schema] = _WHOLE
            _mark_whole(named[schema], named, needed)
        return
    kind = schema.get("type")
    if kind == "record":
        needed[schema["name"]] = _WHOLE
        for item in schema["fields"]:
            _mark_whole(item["type"], named, needed)
    elif kind == "array":
        _mark_whole(schema["items"], named, needed)
    elif kind == "map":
        _mark_whole(schema["values"], named, needed)


def _mark_path(
    record: dict[str, Any], parts: list[str], named: dict[str, Any], needed: dict[str, set[str] | None]
) -> None:
    fields = {item["name"]: item for item in record["fields"]}
    head, rest = parts[0], parts[1:]
    if head not in fields:
        raise ValueError(f"'{head}' is not a field of {record['name']}")
    kept = needed.setdefault(record["name"], set())
    if kept is not _WHOLE:
        kept.add(head)
    field_type = fields[head]["type"]
    if not rest:
        _mark_whole(field_type, named, needed)
        return
    inner = _record_of(field_type, named)
    if inner is not None:
        _mark_path(inner, rest, named, needed)
        return
    container = _container_of(field_type, named)
    if container is not None and container["type"] == "array":
        items = _record_of(container["items"], named)
        if items is not None:
            _mark_path(items, rest, named, needed)
            return
    _mark_whole(field_type, named, needed)  # a map, or a path past a leaf: keep the field whole


def _pruned(schema: Any, needed: dict[str, set[str] | None], defined: set[str]) -> Any:
    if isinstance(schema, list):
        return [_pruned(branch, needed, defined) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind in {"record", "enum", "fixed"}:
        name = schema["name"]
        if name in defined:
            return name
        defined.add(name)
        copy = {key: value for key, value in schema.items() if not key.startswith("__")}
        if kind == "record":
            kept = needed.get(name, set())
            copy["fields"] = [
                {**item, "type": _pruned(item["type"], needed, defined)}
                for item in schema["fields"]
                if kept is _WHOLE or item["name"] in kept
            ]
        return copy
    if kind == "array":
        return {**schema, "items": _pruned(schema["items"], needed, defined)}
    if kind == "map":
        return {**schema, "values": _pruned(schema["values"], needed, defined)}
    return schema


@cache
def reader_schema(fields: frozenset[str], record: str = "Lead") -> Any:
    """A parsed reader schema for ``record`` keeping only ``fields`` (dotted paths)."""
    writer = schemas.parsed(record)
    named: dict[str, Any] = {}
    _named_types(writer, named)
    needed: dict[str, set[str] | None] = {writer["name"]: set()}
    for path in sorted(fields):
        _mark_path(writer, path.split("."), named, needed)
    return fastavro.parse_schema(_pruned(writer, needed, set()), named_schemas={})


class ProjectedLeadReader:
    """Reads ``Lead`` records from the stage before, keeping only the given field paths."""

    def __init__(self, decoder: LeadDecoder | None = None) -> None:
        self._decoder = decoder or LeadDecoder()
        self._writer = self._decoder.codec.schema

    def decode(self, data: bytes | None, headers: HeaderList, fields: Iterable[str]) -> dict[str, Any]:
        data = self._decoder.readable(data, headers)
        reader = reader_schema(frozenset(fields))
        try:
            stream = io.BytesIO(data)
            lead = fastavro.schemaless_reader(stream, self._writer, reader)
        except Exception as error:  # noqa: BLE001 - any decode failure is the record's
            raise InvalidLead(
                "undecodable", f"The record is not a valid Lead in Avro ({type(error).__name__})."
            ) from None
        if stream.tell() != len(data):
            raise InvalidLead(
                "undecodable",
                f"The record has {len(data) - stream.tell()} bytes after the Lead; "
                "it is not one Lead in Avro.",
            )
        return lead
