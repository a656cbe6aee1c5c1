"""Duplicate submissions: which recently routed lead a new lead repeats.

A double form submit, a list that names a person twice, a web lead and a chat
lead a minute apart: the CRM does not know the first one yet, so only the
router can see that the second repeats it. A lead's *identities* are what
makes it the same person: its e-mail, its phone, or its full name at its
company, in the normalized forms the CRM match uses. The ledger keeps, per
identity, the first lead routed with it (for the duplicate window), and
decides "first or duplicate" in the same atomic step as the owner, so two
workers racing on one person cannot both be first.

Identities are stored as digests: the shared state says "someone with this
e-mail was routed", never the e-mail itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from processors.crm.indexing import person_name_key

MatchedOn = Literal["email", "phone", "name_company"]

#: In order of strength: the first identity a recorded lead shares names the match.
KINDS: tuple[MatchedOn, ...] = ("email", "phone", "name_company")


@dataclass(frozen=True, slots=True)
class FirstLead:
    """The first lead routed with an identity, as the ledger recorded it."""

    lead_id: str
    matched_on: MatchedOn
    owner_id: str | None
    routed_at_ms: int

    def section(self) -> dict[str, Any]:
        """The lead's ``duplicate`` section the rules read, and the event's ``duplicate_of``."""
        return {
            "lead_id": self.lead_id,
            "matched_on": self.matched_on,
            "owner_id": self.owner_id,
            "routed_at_ms": self.routed_at_ms,
        }


def _digest(kind: str, value: str) -> str:
    return kind + ":" + hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()[:32]


def identities(lead: Mapping[str, Any]) -> tuple[str, ...]:
    """The lead's identities as ``kind:digest`` strings, strongest first; () when it has none.

    Phones count only when valid (a switchboard typed as "0" is nobody), names
    only with both parts and a company.
    """
    normalized = lead.get("normalized")
    if not isinstance(normalized, Mapping):
        return ()
    found: list[str] = []
    email = normalized.get("email_match_key")
    if isinstance(email, str) and email:
        found.append(_digest("email", email))
    phone = normalized.get("phone_e164")
    if isinstance(phone, str) and phone and normalized.get("phone_valid") is not False:
        found.append(_digest("phone", phone))
    name = person_name_key(normalized.get("first_name"), normalized.get("last_name"))
    company = normalized.get("company_match_key")
    if name and isinstance(company, str) and company:
        found.append(_digest("name_company", f"{name}|{company}"))
    return tuple(found)


def kind_of(identity: str) -> MatchedOn:
    kind = identity.partition(":")[0]
    if kind not in KINDS:
        raise ValueError(f"not an identity: {identity!r}")
    return kind


def record_text(lead_id: str, owner_id: str | None, routed_at_ms: int) -> str:
    """How the ledgers store a first lead against each of its identities."""
    return f"{lead_id}|{owner_id or ''}|{routed_at_ms}"


def first_lead_from(identity: str, text: str | bytes) -> FirstLead:
    """The stored record (``record_text``) of ``identity``, read back."""
    if isinstance(text, bytes):
        text = text.decode()
    lead_id, owner_id, routed_at_ms = text.rsplit("|", 2)
    return FirstLead(lead_id, kind_of(identity), owner_id or None, int(routed_at_ms))


def later_in_batch(batch: Sequence[tuple[str, tuple[str, ...]]]) -> list[bool]:
    """Per lead (id, identities): whether an earlier, different lead of the batch shares an identity.

    Those wait for the earlier lead's decision, so they can follow it.
    """
    claimed: dict[str, str] = {}
    waits: list[bool] = []
    for lead_id, keys in batch:
        waits.append(any(claimed.get(key, lead_id) != lead_id for key in keys))
        for key in keys:
            claimed.setdefault(key, lead_id)
    return waits
