"""A CRM mirror held in process memory: for batch routing, simulations and tests.

It is the reference for what a mirror answers; the Redis mirror is tested
against the same cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, cast

from processors.crm.indexing import index_entries, typo_variants
from processors.crm.models import Account, Candidates, MatchQuery, Opportunity, Person, RecordKind
from processors.crm.names import prepared

DEFAULT_MAX_CANDIDATES = 15
DEFAULT_MAX_POSTING = 2000
#: Typo variants ("abcd~", a word with a letter dropped) busier than this are skipped:
#: they are only asked for a word no account has, and a busy variant says little.
DEFAULT_MAX_TYPO_POSTING = 500
#: A busy token (over ``max_posting``) counts for the accounts the other tokens found
#: only when they are at most this many: each costs a look-up of its words.
DEFAULT_MAX_BUSY_POOL = 500


class InMemoryCrmMirror:
    """Both sides of the mirror protocol over dicts and sets."""

    def __init__(
        self,
        *,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_posting: int = DEFAULT_MAX_POSTING,
        max_typo_posting: int = DEFAULT_MAX_TYPO_POSTING,
        max_busy_pool: int = DEFAULT_MAX_BUSY_POOL,
    ) -> None:
        self.max_candidates = max_candidates
        self.max_posting = max_posting
        self.max_typo_posting = max_typo_posting
        self.max_busy_pool = max_busy_pool
        self.records: dict[RecordKind, dict[str, Any]] = {
            "account": {},
            "contact": {},
            "lead": {},
            "opportunity": {},
        }
        self.index: defaultdict[str, set[str]] = defaultdict(set)

    # -- write side -------------------------------------------------------

    def upsert(self, kind: RecordKind, record: Any) -> None:
        record = prepared(kind, record)
        old = self.records[kind].get(record["id"])
        before = index_entries(kind, old) if old is not None else frozenset()
        after = index_entries(kind, record)
        for key, member in before - after:
            self._discard(key, member)
        for key, member in after - before:
            self.index[key].add(member)
        self.records[kind][record["id"]] = record

    def delete(self, kind: RecordKind, record_id: str) -> None:
        old = self.records[kind].pop(record_id, None)
        if old is None:
            return
        for key, member in index_entries(kind, old):
            self._discard(key, member)

    def _discard(self, key: str, member: str) -> None:
        members = self.index.get(key)
        if members is not None:
            members.discard(member)
            if not members:
                del self.index[key]

    # -- read side --------------------------------------------------------

    def _people(self, key: str) -> list[Person]:
        found = []
        for ref in sorted(self.index.get(key, ())):
            kind, record_id = ref.split(":", 1)
            # Index refs are person_ref(kind, id) of a contact or a lead.
            person = self.records[cast(RecordKind, kind)].get(record_id)
            if person is not None:
                found.append(person)
        return found

    def _accounts(self, ids: Sequence[str]) -> list[Account]:
        table = self.records["account"]
        return [table[i] for i in ids if i in table]

    def candidates(self, query: MatchQuery) -> Candidates:
        people_by_email = self._people(f"email:{query.email_key}") if query.email_key else []
        people_by_phone = self._people(f"phone:{query.phone}") if query.phone else []
        people_by_name = self._people(f"pname:{query.person_name_key}") if query.person_name_key else []
        by_domain = (
            self._accounts(sorted(self.index.get(f"domain:{query.domain}", ()))) if query.domain else []
        )
        by_name = [] if by_domain and query.names_only_without_domain else self._by_name(query)

        related: dict[str, Account] = {}
        table = self.records["account"]
        wanted = {p["account_id"] for p in (*people_by_email, *people_by_phone, *people_by_name)}
        wanted |= {a["parent_id"] for a in (*by_domain, *by_name)}
        for account_id in wanted:
            if account_id and account_id in table:
                related[account_id] = table[account_id]
        for account in list(related.values()):
            parent = account["parent_id"]
            if parent and parent in table:
                related.setdefault(parent, table[parent])

        every = {a["id"] for a in (*by_domain, *by_name)} | related.keys()
        counts = {account_id: len(self.index.get(f"people:{account_id}", ())) for account_id in every}
        opportunities: dict[str, list[Opportunity]] = {}
        for account_id in every:
            ids = sorted(self.index.get(f"opps:{account_id}", ()))
            if ids:
                opportunities[account_id] = [self.records["opportunity"][i] for i in ids]
        return Candidates(
            people_by_email=people_by_email,
            people_by_phone=people_by_phone,
            people_by_name=people_by_name,
            accounts_by_domain=by_domain,
            accounts_by_name=by_name,
            related_accounts=related,
            contact_counts=counts,
            open_opportunities=opportunities,
        )

    def _by_name(self, query: MatchQuery) -> list[Account]:
        """Accounts ranked by name tokens shared (a repeated token counts again), then id.

        A token carried by more than ``max_posting`` accounts finds no account
        itself, but counts for those the other tokens found when they are no more
        than ``max_busy_pool`` ("Naylor Australia": the Naylors in Australia first). A typo
        word no account carries is replaced by its variants (``typo_variants``),
        which count like tokens up to ``max_typo_posting`` accounts each; its
        four-letter ends (big postings) only when no other variant is carried.
        """
        shared: Counter[str] = Counter()
        busy: list[set[str]] = []
        for token in query.name_tokens:
            posting = self.index.get(f"token:{token}", set())
            if len(posting) <= self.max_posting:
                shared.update(posting)
            else:
                busy.append(posting)
        for word in query.typo_words:
            if not word.isascii() or f"token:{word}" in self.index:
                continue
            exact, affixes = typo_variants(word)
            found = [variant for variant in exact if f"token:{variant}" in self.index]
            for variant in found or affixes:
                posting = self.index.get(f"token:{variant}", set())
                if len(posting) <= self.max_typo_posting:
                    shared.update(posting)
        if busy and len(shared) <= self.max_busy_pool:
            for account_id in list(shared):
                shared[account_id] += sum(account_id in posting for posting in busy)
        ranked = sorted(shared, key=lambda account_id: (-shared[account_id], account_id))
        return self._accounts(ranked[: self.max_candidates])

    def candidates_many(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        return [self.candidates(query) for query in queries]
