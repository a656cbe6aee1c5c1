"""Writing Assignment events around the lead's own bytes.

An Assignment carries the whole lead it decided, and the lead is most of its
size. Re-encoding it would cost the assign stage more than deciding, so the
event is written from the bytes the stage read:

* Avro encodes a record as its fields' encodings one after another, and
  ``lead`` is the Assignment's last field: the event is the other fields'
  encoding followed by a Lead's encoding;
* ``trace`` is the Lead's last field, and Avro writes an array as blocks
  (a count, that many items; a zero count ends it): the stage's own trace
  entry is one more block, put before the final zero.

The explanation of the plan (``routes_tried``, ``territories``, ``segments``,
three fields in a row) is shared by every lead that took the same plan
(:class:`processors.assign.PlanPart`), so its bytes are written once per plan
and copied after: the fields before it, it, and the fields after it are each
written as a record of their own, which concatenated are the head's encoding.

Any Avro reader reads the result as the same record a full encode would give
(checked in tests against fastavro's full writer). Both layout facts are
checked when the writer is built, so a schema change that breaks them fails at
start-up, not on the wire.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import fastavro

import schemas

_LONG_ONE = b"\x02"  # zig-zag varint of 1: a block of one item

#: The head's fields that come from the plan alone, in schema order.
PLAN_FIELDS = ("routes_tried", "territories", "segments")
_CACHED_PLANS = 4_096


def _field_names(schema: Mapping[str, Any]) -> list[str]:
    return [item["name"] for item in schema["fields"]]


def _part_schema(assignment: Mapping[str, Any], part: str, fields: list[Any], named: dict[str, Any]) -> Any:
    """A record of some of the Assignment's fields: its encoding is theirs, in order."""
    schema = {key: value for key, value in assignment.items() if not key.startswith("__")}
    schema["name"] = f"leadroute.Assignment{part}"
    schema["fields"] = fields
    return fastavro.parse_schema(schema, named_schemas=named)


class AssignmentWriter:
    """Encodes an Assignment from its own fields and the lead's Avro bytes."""

    def __init__(self) -> None:
        assignment = schemas.parsed("Assignment")
        lead = schemas.parsed("Lead")
        if _field_names(assignment)[-1] != "lead" or _field_names(lead)[-1] != "trace":
            raise RuntimeError(
                "schemas changed: Assignment.lead and Lead.trace must stay the last fields "
                "for the assign stage to copy the lead's bytes"
            )
        fields = assignment["fields"][:-1]
        names = _field_names({"fields": fields})
        start = names.index(PLAN_FIELDS[0]) if PLAN_FIELDS[0] in names else 0
        if tuple(names[start : start + len(PLAN_FIELDS)]) != PLAN_FIELDS:
            raise RuntimeError(f"schemas changed: Assignment must keep {', '.join(PLAN_FIELDS)} together")
        named: dict[str, Any] = {}
        self._before, self._plan, self._after = (
            _part_schema(assignment, part, fields[lo:hi], named)
            for part, lo, hi in (
                ("Before", 0, start),
                ("Plan", start, start + len(PLAN_FIELDS)),
                ("After", start + len(PLAN_FIELDS), len(fields)),
            )
        )
        self._plan_bytes: dict[int, tuple[Any, Any, Any, bytes]] = {}
        self._trace_entry = schemas.parsed("StageTrace")
        self.fingerprint = schemas.fingerprint("Assignment")

    def _plan_encoding(self, head: Mapping[str, Any]) -> bytes:
        """The plan fields' bytes, kept while the same explanation objects come back."""
        tried, territories, segments = (head[name] for name in PLAN_FIELDS)
        # By identity, holding the objects (so their ids stay theirs): shared plan
        # parts come back as the very same lists, and are never changed.
        kept = self._plan_bytes.get(id(tried))
        if kept is not None and kept[0] is tried and kept[1] is territories and kept[2] is segments:
            return kept[3]
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._plan, head)
        encoded = buffer.getvalue()
        if len(self._plan_bytes) >= _CACHED_PLANS:
            self._plan_bytes.clear()
        self._plan_bytes[id(tried)] = (tried, territories, segments, encoded)
        return encoded

    def encode(self, head: Mapping[str, Any], lead_bytes: bytes, stamp: Mapping[str, Any] | None) -> bytes:
        """``head``: every Assignment field but ``lead``; ``stamp``: a trace entry to add, if any.

        ``lead_bytes`` must be exactly one Lead in Avro (the projected reader checks that).
        """
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._before, head)
        buffer.write(self._plan_encoding(head))
        fastavro.schemaless_writer(buffer, self._after, head)
        if stamp is None:
            buffer.write(lead_bytes)
            return buffer.getvalue()
        if not lead_bytes or lead_bytes[-1] != 0:
            raise ValueError("the lead's bytes do not end with its trace array's closing block")
        buffer.write(memoryview(lead_bytes)[:-1])
        buffer.write(_LONG_ONE)
        fastavro.schemaless_writer(buffer, self._trace_entry, stamp)
        buffer.write(b"\x00")
        return buffer.getvalue()
