"""Lead ids: keep the sender's id, or derive a stable one from the content.

A deterministic id makes retries idempotent: a form that resubmits the same
lead after a timeout gets the same id, so later stages can de-duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from processors.models import RawLead
from processors.normalize.text import as_text

#: Prefix of derived ids, so they are distinguishable from upstream ids.
DERIVED_ID_PREFIX = "lr_"


def _canonical(raw: Mapping[str, object]) -> str:
    """Sorted-key JSON of the raw fields, ignoring lead_id and empty values.

    Keys with None or blank values are dropped so that "absent" and "sent as
    null" are the same submission. ``ensure_ascii`` keeps the bytes stable
    and encodable whatever the content (even lone surrogates).
    """
    fields = {
        str(key): value
        for key, value in raw.items()
        if key != "lead_id" and value is not None and not (isinstance(value, str) and not value.strip())
    }
    try:
        return json.dumps(fields, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    except (TypeError, ValueError):
        # Values outside the contract (bytes, sets, mixed-type keys): fall
        # back to a repr of the sorted items, which is still deterministic
        # for plain data.
        return repr(sorted((key, repr(value)) for key, value in fields.items()))


def lead_id_for(raw: RawLead) -> str:
    """The upstream lead_id (trimmed) or "lr_" + 24 hex chars of a content hash."""
    if not isinstance(raw, Mapping):
        raw = {}
    given = as_text(raw.get("lead_id"))
    if given is not None and given.strip():
        return given.strip()
    digest = hashlib.sha256(_canonical(raw).encode("utf-8", "surrogatepass")).hexdigest()
    return DERIVED_ID_PREFIX + digest[:24]
