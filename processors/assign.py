"""Assignment stage: turns a fully processed lead into one routing decision.

Until the rule language lands, every lead goes to one configured queue. The
decision is still recorded through :class:`~processors.ports.AssignmentStore`
so a replayed lead gets the decision it got the first time, never a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from processors.models import Assignment, Lead
from processors.ports import AssignmentStore, Clock


@dataclass(frozen=True, slots=True)
class DefaultQueuePolicy:
    """Send every lead to one queue on one channel."""

    queue: str
    channel: str

    @property
    def version(self) -> str:
        """A content hash, so an event says which policy decided it."""
        digest = hashlib.sha256(f"default-queue\0{self.queue}\0{self.channel}".encode())
        return "default-queue@" + digest.hexdigest()[:12]


def assignment_id_for(lead_id: str) -> str:
    """One assignment per lead: the id is derived from the lead id, so replays agree."""
    return "as_" + hashlib.sha256(lead_id.encode()).hexdigest()[:24]


def assign(lead: Lead, *, policy: DefaultQueuePolicy, store: AssignmentStore, clock: Clock) -> Assignment:
    """Decide where ``lead`` goes, or repeat the decision already made for it."""
    decision: Assignment = {
        "assignment_id": assignment_id_for(lead["lead_id"]),
        "lead_id": lead["lead_id"],
        "destination_type": "queue",
        "destination": policy.queue,
        "channel": policy.channel,
        "reason": f"No routing rules are configured yet; every lead goes to queue {policy.queue!r}.",
        "rules_version": policy.version,
        "decided_at_ms": clock.now_ms(),
        "replayed": False,
        "decision_path": [f"default policy → queue {policy.queue} on channel {policy.channel}"],
        "lead": lead,
    }
    earlier = store.remember(lead["lead_id"], decision)
    if earlier is None:
        return decision
    return {**earlier, "replayed": True, "lead": lead}
