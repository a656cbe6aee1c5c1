"""The normalize stage's pure logic: raw lead fields to canonical forms.

Everything here is a pure function of its input (no I/O, no network, no
clock), so it runs identically in the stream processor, in replays and in
tests. Each field has its own module; :mod:`.lead` combines them.
"""

from __future__ import annotations

from processors.normalize.ids import lead_id_for
from processors.normalize.lead import (
    CUSTOM_TRUNCATED,
    FLAGS,
    UNUSABLE,
    normalize_lead,
    raw_from_normalized,
)

__all__ = ["CUSTOM_TRUNCATED", "FLAGS", "UNUSABLE", "lead_id_for", "normalize_lead", "raw_from_normalized"]
