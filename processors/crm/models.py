"""CRM records as the mirror holds them, and the ``crm`` section of a lead.

Records arrive as change events on the compacted ``crm.*`` topics (keyed by
record id; a null value deletes). Values here are already normalized: emails
lower-case, phones E.164, domains registrable and lower-case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

RecordKind = Literal["account", "contact", "lead", "opportunity"]
RECORD_KINDS: tuple[RecordKind, ...] = ("account", "contact", "lead", "opportunity")


class Account(TypedDict):
    id: str
    name: str
    domains: list[str]  # registrable domains; the primary first, then alternates
    website: str | None
    owner_id: str | None
    parent_id: str | None
    employees: int | None
    industry: str | None
    country_code: str | None
    type: str | None  # e.g. customer, prospect, partner
    tier: str | None
    last_activity_ms: int | None


class Person(TypedDict):
    """A CRM contact or lead: someone the company already knows."""

    id: str
    kind: Literal["contact", "lead"]
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    account_id: str | None
    owner_id: str | None
    status: str | None


class Opportunity(TypedDict):
    id: str
    account_id: str
    owner_id: str | None
    stage: str | None
    amount: float | None
    is_open: bool
    close_date: str | None


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """What the matcher wants to look up for one lead; the mirror answers in one round trip."""

    email_key: str | None = None  # normalized email match key
    phone: str | None = None  # E.164
    person_name_key: str | None = None  # see indexing.person_name_key
    domain: str | None = None  # company domain; never a free-mail domain
    name_tokens: tuple[str, ...] = ()  # see indexing.company_tokens
    #: Words of the name that may hold a typo. When no account carries such a word, the
    #: mirror asks for its variants instead (indexing.typo_variants), so a correctly
    #: spelled name never pays for them. Only ASCII words are tried.
    typo_words: tuple[str, ...] = ()
    #: Gather name candidates only when no account has ``domain``: the matcher never
    #: reads them when the domain matched, and they are most of a look-up's work.
    names_only_without_domain: bool = False


@dataclass(frozen=True, slots=True)
class Candidates:
    """Everything the mirror found for a query, enough to decide without asking again."""

    people_by_email: list[Person] = field(default_factory=list)
    people_by_phone: list[Person] = field(default_factory=list)
    people_by_name: list[Person] = field(default_factory=list)
    accounts_by_domain: list[Account] = field(default_factory=list)
    accounts_by_name: list[Account] = field(default_factory=list)
    #: Accounts referenced by a candidate (a person's account, a candidate's parent), by id.
    related_accounts: dict[str, Account] = field(default_factory=dict)
    #: Number of contacts per candidate account id (a tiebreaker).
    contact_counts: dict[str, int] = field(default_factory=dict)
    #: Open opportunities per candidate account id (and its parent).
    open_opportunities: dict[str, list[Opportunity]] = field(default_factory=dict)
