"""The two kinds of failure a stage can meet, kept apart on purpose.

A lead that cannot be processed is *data*: it goes to the dead-letter topic with
a code and a sentence, and the stage moves on. A dependency that is down (Redis,
an enrichment API) is *not* the lead's fault: the stage must stop or back off
and retry, never dead-letter good leads because a server blinked.
"""

from __future__ import annotations

#: Machine-readable dead-letter codes, with what a person should do about each.
DLQ_CODES: dict[str, str] = {
    "empty_message": "The message had no value. Fix the producer so it sends the lead as the value.",
    "undecodable": "The bytes could not be decoded in the declared or detected format.",
    "unsupported_content_type": "The content-type header names a format leadroute does not read.",
    "schema_violation": "The lead does not match the raw lead contract (schemas/leadroute.RawLead.avsc).",
    "schema_mismatch": "The record was written with a schema version this stage does not know.",
    "processing_error": "A stage failed on this lead; the message names the stage and the error.",
}

#: The codes that are the data's fault (fix the producer); the others mean a bug or a
#: deployment problem, which the dead-letter brake (streams/stages/brake.py) stops on.
DATA_CODES: frozenset[str] = frozenset(
    {"empty_message", "undecodable", "unsupported_content_type", "schema_violation"}
)


class InvalidLead(Exception):
    """A lead that cannot go on through the pipeline; it will be dead-lettered."""

    def __init__(self, code: str, message: str, lead_id: str | None = None) -> None:
        if code not in DLQ_CODES:
            raise ValueError(f"unknown dead-letter code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        #: The sender's lead id when the record named one, so the dead letter can be found by it.
        self.lead_id = lead_id


class DependencyUnavailable(Exception):
    """A dependency the stage needs is down; the lead must be retried, not dead-lettered."""
