"""Dotted field paths into a lead: which exist, and what a lead holds there.

Scoring rules name fields as text ("enrichment.seniority"). Checking every
path against the lead's typed sections when the file is loaded turns a typo
into a start-up error with a line number, instead of a rule that silently
never fires.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

from processors.crm.matcher import CrmSection
from processors.enrichment.models import EnrichmentSection
from processors.models import Lead

#: Segment values a scoring rule may read: everything decided before the score.
SEGMENT_FIELDS: tuple[str, ...] = (
    "size_band", "revenue_band", "vertical", "region", "territory", "seniority_tier", "source_channel",
)  # fmt: skip

#: A node of the field tree: a mapping of known keys, or ANY (free-form, any key below is fine).
ANY: Mapping[str, Any] = types.MappingProxyType({})
_LEAF = None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``: optional sections are still walked into."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _tree(annotation: Any) -> Mapping[str, Any] | None:
    annotation = _unwrap(annotation)
    if is_typeddict(annotation):
        return {name: _tree(hint) for name, hint in get_type_hints(annotation).items()}
    if annotation is dict or get_origin(annotation) is dict:
        return ANY
    return _LEAF


@cache
def field_tree() -> Mapping[str, Any]:
    """Every path a rule may name, from the typed sections (``raw.custom.*`` is free-form)."""
    tree = dict(_tree(Lead) or {})
    tree["enrichment"] = _tree(EnrichmentSection)
    tree["crm"] = _tree(CrmSection)
    tree["segment"] = dict.fromkeys(SEGMENT_FIELDS, _LEAF)
    tree.pop("trace", None)
    return tree


def check_path(path: str) -> str | None:
    """None when ``path`` names a known field; else why not, with a close match when there is one."""
    parts = path.split(".")
    if not all(parts):
        return f"'{path}' is not a dotted field path such as 'enrichment.seniority'"
    node: Mapping[str, Any] | None = field_tree()
    walked: list[str] = []
    for part in parts:
        if node is ANY:
            return None
        if node is None:
            return f"'{'.'.join(walked)}' is a value, not a section; '{path}' goes below it"
        if part not in node:
            close = difflib.get_close_matches(part, list(node), n=1, cutoff=0.6)
            where = f"'{'.'.join(walked)}'" if walked else "a lead"
            hint = f"did you mean '{'.'.join([*walked, close[0]])}'? " if close else ""
            return f"unknown field '{path}': {where} has no '{part}'; {hint}see docs/segmentation.md#fields"
        node = node[part]
        walked.append(part)
    if node is not None and node is not ANY:
        return f"'{path}' is a section, not a value; name a field inside it, e.g. '{path}.{next(iter(node))}'"
    return None


def value_at(lead: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``, or None when any section on the way is missing."""
    node: Any = lead
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node
