"""The CRM matcher: is this lead already known, which account is it, is a deal open?

Pure: the mirror is asked once per lead (or once per batch) through
:meth:`Matcher.query_for`, and :meth:`Matcher.decide` works only from the
:class:`~processors.crm.models.Candidates` it answered. The decision and every
reason behind it land in ``lead["crm"]`` so a routing rule, or a person asking
"why did this go to Sam?", can read it.

Order of decisions
------------------
1. **People (duplicates).** By email match key, then E.164 phone (both exact,
   score 100), then fuzzy: same first and last name *and* a similar company
   (``person_accept_score``) or the person already sits on the account the lead
   matched. Earlier steps win; within a step contacts beat leads, then the
   higher score, then the lower id. The best is ``person``, the rest
   ``duplicates``.
2. **Account.** (a) Exact company domain, alternates included. (b) Without a
   domain match, the fuzzy company name over the name candidates (see
   :mod:`processors.crm.names`): accepted at ``accept_score``, matched but
   flagged for review in ``[review_score, accept_score)``, no match below. (c)
   Without either, the matched person's account. A person whose account differs
   from a domain or name match is recorded as a candidate; the domain match is
   kept, and a name match is kept but flagged for review.
3. **Ties** (several accounts share the domain, or equal top name scores), in
   this order: for names only, the closer full name (legal form included);
   then parent over child; most contacts; most recent activity; and finally
   the lowest id, only to be deterministic, flagged for review.
4. **Roll-up** (``roll_up_to_parent``): a matched subsidiary is replaced by its
   direct parent; the child is ``rolled_up_from``.
5. **Open opportunities** of the matched account (and of the child when rolled up).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

from processors.crm.indexing import person_name_key
from processors.crm.models import Account, Candidates, MatchQuery, Opportunity, Person
from processors.crm.names import (
    CompanyKey,
    account_key,
    company_key,
    is_acronym_of,
    legal_forms_conflict,
    literal_similarity,
    lookup_tokens,
    score_keys,
    typo_words,
    words_contained,
)
from processors.enrichment.emails import DomainLists
from processors.models import Lead
from processors.ports import CrmMirror

#: Bumped whenever the decision logic changes, so ``matcher_version`` changes with it.
LOGIC_REVISION = 3

PersonMethod = Literal["email", "phone", "fuzzy_name"]
AccountMethod = Literal["domain", "fuzzy_name", "person"]

#: Every flag :meth:`Matcher.decide` can raise.
FLAGS: frozenset[str] = frozenset(
    {
        "crm_duplicate",
        "crm_account_match",
        "crm_review",
        "crm_no_match",
        "crm_free_mail_skipped",
        "crm_shared_domain",
        "crm_rolled_up",
        "crm_open_opportunity",
        "crm_person_account_conflict",
    }
)

# Candidate reasons, stable strings a report can group by.
LOWER_SCORE = "lower score"
BELOW_REVIEW = "below review score"
PARENT_OVER_CHILD = "lost tiebreak: parent over child"
CLOSER_NAME = "lost tiebreak: closer full name"
LEGAL_FORM = "legal form differs from the lead's"
FEWER_CONTACTS = "lost tiebreak: fewer contacts"
OLDER_ACTIVITY = "lost tiebreak: older activity"
LOWEST_ID = "lost tiebreak: lowest id (tiebreakers could not separate)"
PERSON_ACCOUNT = "account of the matched person"
NAME_AT_DOMAIN = "same domain, the company name matches another account at it"

#: A lead's company name scoring under this against the only account at its domain is
#: another organisation on a shared domain as often as a typo: the match goes to review.
DOMAIN_NAME_DOUBT = 50.0


class CrmPersonMatch(TypedDict):
    id: str
    kind: Literal["contact", "lead"]
    owner_id: str | None
    account_id: str | None
    status: str | None
    method: PersonMethod
    score: float


class CrmAccountMatch(TypedDict):
    id: str
    name: str
    owner_id: str | None
    parent_id: str | None
    type: str | None
    tier: str | None
    method: AccountMethod
    score: float
    matched_on: str
    rolled_up_from: str | None


class CrmCandidate(TypedDict):
    id: str
    name: str
    score: float
    method: str
    reason: str


class CrmOpenOpportunity(TypedDict):
    id: str
    owner_id: str | None
    stage: str | None
    amount: float | None
    close_date: str | None


class CrmSection(TypedDict):
    """``Lead.crm``: what the CRM already knows about the lead, with the reasons."""

    person: CrmPersonMatch | None
    duplicates: list[CrmPersonMatch]
    is_duplicate: bool
    account: CrmAccountMatch | None
    candidates: list[CrmCandidate]
    open_opportunities: list[CrmOpenOpportunity]
    has_open_opportunity: bool
    review: bool
    review_reason: str | None
    matcher_version: str
    flags: list[str]


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Thresholds and policy; every field feeds ``matcher_version``."""

    accept_score: float = 92.0  # fuzzy company-name score at or above which an account is accepted
    review_score: float = 85.0  # [review_score, accept_score): matched, flagged for review
    person_accept_score: float = 90.0  # company similarity needed for a fuzzy name duplicate
    roll_up_to_parent: bool = False  # a matched subsidiary is replaced by its parent
    max_runner_ups: int = 3  # "lower score" / "below review score" candidates kept

    def __post_init__(self) -> None:
        if not 0 <= self.review_score <= self.accept_score <= 100:
            raise ValueError("need 0 <= review_score <= accept_score <= 100")
        if not 0 <= self.person_accept_score <= 100:
            raise ValueError("person_accept_score must be within 0..100")
        if self.max_runner_ups < 0:
            raise ValueError("max_runner_ups must not be negative")


@dataclass(slots=True)
class _AccountPick:
    account: Account
    method: AccountMethod
    score: float
    matched_on: str


@dataclass(slots=True)
class _NameScore:
    """A name candidate scored against the lead's closest company name."""

    account: Account
    score: float
    lead_name: str
    lead_key: CompanyKey | None
    key: CompanyKey | None
    conflict: bool  # both name a legal form and they share none


@dataclass(slots=True)
class _PersonHit:
    person: Person
    method: PersonMethod
    score: float
    step: int


def _number(value: float) -> str:
    """87.0 → "87", 87.5 → "87.5": scores as a person reads them."""
    return f"{value:g}"


def _shown(name: str) -> str:
    """A name as ``matched_on`` shows it: case-folded, spaces collapsed."""
    return " ".join(name.casefold().split())


class Matcher:
    """Decides a lead's CRM match from the mirror's candidates; holds no state but its config."""

    def __init__(self, config: MatchConfig | None = None) -> None:
        self.config = config or MatchConfig()
        payload = json.dumps({"logic": LOGIC_REVISION, **asdict(self.config)}, sort_keys=True)
        self._version = hashlib.sha256(payload.encode()).hexdigest()[:12]
        self._domain_lists: DomainLists | None = None

    @property
    def version(self) -> str:
        """Short hash of the config and logic revision: two decisions with equal versions are comparable."""
        return self._version

    # -- query ----------------------------------------------------------------

    def query_for(self, lead: Lead) -> MatchQuery:
        """What to ask the mirror for this lead; never a free-mail domain."""
        normalized: Mapping[str, Any] = lead.get("normalized") or {}
        enrichment: Mapping[str, Any] = lead.get("enrichment") or {}
        tokens: dict[str, None] = {}
        typos: dict[str, None] = {}
        for name in self._lead_company_names(normalized, enrichment):
            tokens.update(dict.fromkeys(lookup_tokens(name)))
            typos.update(dict.fromkeys(typo_words(name)))
        return MatchQuery(
            email_key=normalized.get("email_match_key"),
            phone=normalized.get("phone_e164") or enrichment.get("phone_e164"),
            person_name_key=person_name_key(normalized.get("first_name"), normalized.get("last_name")),
            domain=self._company_domain(lead),
            name_tokens=tuple(tokens),
            typo_words=tuple(typos),
            names_only_without_domain=True,
        )

    def _company_domain(self, lead: Lead) -> str | None:
        """Enrichment's company domain; without enrichment, only a non-free-mail website domain.

        Enrichment already excludes free-mail and disposable domains (with a
        deployment's exemptions). Without it we cannot tell a personal email
        domain from a company one, so only the website is used, checked
        against the shipped lists.
        """
        enrichment = lead.get("enrichment")
        if enrichment is not None:
            domain = enrichment.get("company_domain")
            return domain if isinstance(domain, str) and domain else None
        normalized = lead.get("normalized")
        website = normalized.get("website_domain") if normalized else None
        if not website:
            return None
        if self._domain_lists is None:
            self._domain_lists = DomainLists()
        lists = self._domain_lists
        if lists.is_free_mail(website, website) or lists.is_disposable(website, website):
            return None
        return website

    @staticmethod
    def _lead_company_names(normalized: Mapping[str, Any], enrichment: Mapping[str, Any]) -> list[str]:
        """The name the lead typed and the one enrichment found, without repeats."""
        names: list[str] = []
        for name in (normalized.get("company_name"), enrichment.get("company_name")):
            if isinstance(name, str) and name and name not in names:
                names.append(name)
        return names

    # -- decision -------------------------------------------------------------

    def decide(self, lead: Lead, candidates: Candidates) -> CrmSection:
        """The ``crm`` section for ``lead`` from what the mirror found."""
        normalized: Mapping[str, Any] = lead.get("normalized") or {}
        enrichment: Mapping[str, Any] = lead.get("enrichment") or {}
        lead_keys = [
            (name, key)
            for name in self._lead_company_names(normalized, enrichment)
            if (key := company_key(name)) is not None
        ]
        flags: set[str] = set()
        reviews: list[str] = []
        runner_ups: list[CrmCandidate] = []

        if enrichment.get("email_is_free_mail") is True:
            flags.add("crm_free_mail_skipped")

        # Exact people first: their account is the fallback for (c).
        hits = self._exact_people(candidates)

        pick: _AccountPick | None = None
        if candidates.accounts_by_domain:
            pick = self._by_domain(lead, candidates, runner_ups, reviews, flags, lead_keys)
        elif lead_keys and candidates.accounts_by_name:
            pick = self._by_name(lead_keys, candidates, runner_ups, reviews)

        exact_refs = {(hit.person["kind"], hit.person["id"]) for hit in hits}
        hits += self._fuzzy_people(candidates, lead_keys, pick, exact_refs)
        people = self._rank_people(hits)
        best = people[0] if people else None

        own = candidates.related_accounts.get(best.person["account_id"] or "") if best else None
        if pick is None and best is not None and own is not None:
            pick = _AccountPick(
                own, "person", best.score, f"{best.person['kind']} {best.person['id']} by {best.method}"
            )

        account: CrmAccountMatch | None = None
        opportunities: list[CrmOpenOpportunity] = []
        if pick is not None:
            account = self._account_section(pick, candidates, flags)
            from_ids = [account["id"], *([account["rolled_up_from"]] if account["rolled_up_from"] else [])]
            opportunities = self._opportunities(candidates, from_ids)
            flags.add("crm_account_match")
            if best is not None and own is not None and own["id"] not in from_ids:
                # The person may have moved on; the domain is today's evidence, a name is weaker.
                flags.add("crm_person_account_conflict")
                runner_ups.insert(0, self._candidate(own, best.score, "person", PERSON_ACCOUNT))
                if pick.method == "fuzzy_name":
                    reviews.append(
                        f"the matched {best.person['kind']} belongs to account {own['id']}, "
                        f"the company name matched account {pick.account['id']}"
                    )
        if best is not None:
            flags.add("crm_duplicate")
        if best is None and account is None:
            flags.add("crm_no_match")
        if opportunities:
            flags.add("crm_open_opportunity")
        if reviews:
            flags.add("crm_review")

        return {
            "person": self._person_section(best) if best else None,
            "duplicates": [self._person_section(hit) for hit in people[1:]],
            "is_duplicate": best is not None,
            "account": account,
            "candidates": runner_ups,
            "open_opportunities": opportunities,
            "has_open_opportunity": bool(opportunities),
            "review": bool(reviews),
            "review_reason": "; ".join(reviews) if reviews else None,
            "matcher_version": self._version,
            "flags": sorted(flags),
        }

    # -- people ---------------------------------------------------------------

    @staticmethod
    def _exact_people(candidates: Candidates) -> list[_PersonHit]:
        hits: list[_PersonHit] = []
        seen: set[tuple[str, str]] = set()
        steps: tuple[tuple[PersonMethod, list[Person]], ...] = (
            ("email", candidates.people_by_email),
            ("phone", candidates.people_by_phone),
        )
        for step, (method, found) in enumerate(steps):
            for person in found:
                ref = (person["kind"], person["id"])
                if ref not in seen:
                    seen.add(ref)
                    hits.append(_PersonHit(person, method, 100.0, step))
        return hits

    def _fuzzy_people(
        self,
        candidates: Candidates,
        lead_keys: Sequence[tuple[str, CompanyKey]],
        pick: _AccountPick | None,
        seen: AbstractSet[tuple[str, str]],
    ) -> list[_PersonHit]:
        """Same name and a similar company (or already on the matched account)."""
        hits: list[_PersonHit] = []
        for person in candidates.people_by_name:
            if (person["kind"], person["id"]) in seen:
                continue
            keys = [company_key(person["company"])] if person["company"] else []
            own = candidates.related_accounts.get(person["account_id"] or "")
            if own is not None:
                keys.append(account_key(own))
            score = max((self._best_score(lead_keys, key)[0] for key in keys), default=0.0)
            if pick is not None and person["account_id"] == pick.account["id"]:
                score = max(score, pick.score)
            elif score < self.config.person_accept_score:
                continue
            hits.append(_PersonHit(person, "fuzzy_name", score, 2))
        return hits

    @staticmethod
    def _rank_people(hits: list[_PersonHit]) -> list[_PersonHit]:
        """Earlier step first, then contacts before leads, higher score, lower id."""
        return sorted(hits, key=lambda h: (h.step, h.person["kind"] != "contact", -h.score, h.person["id"]))

    @staticmethod
    def _person_section(hit: _PersonHit) -> CrmPersonMatch:
        person = hit.person
        return {
            "id": person["id"],
            "kind": person["kind"],
            "owner_id": person["owner_id"],
            "account_id": person["account_id"],
            "status": person["status"],
            "method": hit.method,
            "score": hit.score,
        }

    # -- accounts -------------------------------------------------------------

    def _by_domain(
        self,
        lead: Lead,
        candidates: Candidates,
        runner_ups: list[CrmCandidate],
        reviews: list[str],
        flags: set[str],
        lead_keys: Sequence[tuple[str, CompanyKey]] = (),
    ) -> _AccountPick:
        """The account at the lead's domain; the company name chooses among several, or doubts one.

        A parent's domain is often on every child's account (a school district's on
        each school, a franchise's on each branch). With several accounts at the
        domain, the one whose name alone matches the lead's (at the review score or
        above) wins; when none does, or the only account's name disagrees strongly
        (under ``DOMAIN_NAME_DOUBT``), the domain match is kept but sent to review.
        """
        accounts = list(candidates.accounts_by_domain)
        domain = self._company_domain(lead) or next(iter(accounts[0]["domains"]), "")
        if len(accounts) > 1:
            flags.add("crm_shared_domain")
        scores = (
            {a["id"]: self._best_score(lead_keys, account_key(a))[0] for a in accounts} if lead_keys else {}
        )
        if scores and len(accounts) > 1:
            best = max(scores.values())
            named = [a for a in accounts if scores[a["id"]] == best and best >= self.config.review_score]
            if named:
                for loser in accounts:
                    if loser not in named:
                        runner_ups.append(self._candidate(loser, 100.0, "domain", NAME_AT_DOMAIN))
                accounts = named
            else:
                reviews.append("several accounts share the domain and none has the lead's company name")
        elif scores and max(scores.values()) < DOMAIN_NAME_DOUBT:
            reviews.append(
                f"the company name scores {_number(max(scores.values()))} against the account at the domain"
            )
        winner, losers, separated = self._tiebreak(accounts, candidates)
        for loser, reason in losers:
            runner_ups.append(self._candidate(loser, 100.0, "domain", reason))
        if not separated:
            reviews.append("several accounts share the domain and tiebreakers could not separate them")
        return _AccountPick(winner, "domain", 100.0, domain)

    def _by_name(
        self,
        lead_keys: Sequence[tuple[str, CompanyKey]],
        candidates: Candidates,
        runner_ups: list[CrmCandidate],
        reviews: list[str],
    ) -> _AccountPick | None:
        review_score = self.config.review_score
        scored = [self._name_score(lead_keys, account) for account in candidates.accounts_by_name]
        self._dropped_word(lead_keys, scored)
        self._acronym(lead_keys, scored)
        # A legal form that contradicts the lead's ("Acme AB" for an "Acme KG" account) ranks
        # an account below every matching one that does not: it is likely a sister company.
        scored.sort(key=lambda s: (s.score < review_score or s.conflict, -s.score, s.account["id"]))
        cap = self.config.max_runner_ups
        top = scored[0]
        if top.score < review_score:
            runner_ups.extend(
                self._candidate(s.account, s.score, "fuzzy_name", BELOW_REVIEW) for s in scored[:cap]
            )
            return None
        top_score = top.score
        tied = [s for s in scored if s.score == top_score and s.conflict == top.conflict]
        rest = [s for s in scored if not (s.score == top_score and s.conflict == top.conflict)]
        winner, losers, separated = self._tiebreak(
            [s.account for s in tied],
            candidates,
            [(CLOSER_NAME, lambda a: self._literal_score(lead_keys, a["name"]))],
        )
        for loser, reason in losers:
            runner_ups.append(self._candidate(loser, top_score, "fuzzy_name", reason))
        lead_name = next(s.lead_name for s in tied if s.account["id"] == winner["id"])
        for s in rest[:cap]:
            if s.conflict and s.score >= top_score:
                reason = CLOSER_NAME if s.score == top_score else LEGAL_FORM
            else:
                reason = LOWER_SCORE if s.score >= review_score else BELOW_REVIEW
            runner_ups.append(self._candidate(s.account, s.score, "fuzzy_name", reason))
        if not separated:
            reviews.append(
                "several accounts match the company name equally and tiebreakers could not separate them"
            )
        if top_score < self.config.accept_score:
            reviews.append(
                f"fuzzy name score {_number(top_score)} between {_number(review_score)} "
                f"and {_number(self.config.accept_score)}"
            )
        matched_on = f"{_shown(lead_name)} ~ {_shown(winner['name'])}"
        return _AccountPick(winner, "fuzzy_name", top_score, matched_on)

    @staticmethod
    def _name_score(lead_keys: Sequence[tuple[str, CompanyKey]], account: Account) -> _NameScore:
        """The account's best score over the lead's names; a contradicting legal form is noted."""
        other = account_key(account)
        best = _NameScore(account, 0.0, "", None, other, False)
        if other is None:
            return best
        for lead_name, key in lead_keys:
            score = score_keys(key, other)
            if score > best.score or not best.lead_name:
                best = _NameScore(account, score, lead_name, key, other, legal_forms_conflict(key, other))
        return best

    def _dropped_word(self, lead_keys: Sequence[tuple[str, CompanyKey]], scored: list[_NameScore]) -> None:
        """A lead name whose words are all in exactly one account's longer name is that account.

        "Querini & USA" for "Querini & Huguet USA Inc.": a word left out scores low
        however the rest agrees. When only one candidate holds every word of the
        lead's name (its legal form, if any, not contradicting the lead's), it is
        matched at the review score: a likely match a person should confirm. The
        lead must give two words, or one and the account's legal form ("Murcia LLP"
        for "Murcia Shipping LLP"): one word alone ("Acme" for "Acme Mining") is
        too little. Several such accounts ("Querini" with "Querini Mining" and
        "Querini Bank") are left to the plain score, and so is a lead whose name an
        account has exactly.
        """
        floor = self.config.review_score
        for lead_name, key in lead_keys:
            if any(
                s.key is not None and s.key.text == key.text and not legal_forms_conflict(key, s.key)
                for s in scored
            ):
                continue
            several_words = " " in key.text
            holding = [
                at
                for at, s in enumerate(scored)
                if s.key is not None
                and words_contained(key, s.key)
                and not legal_forms_conflict(key, s.key)
                and (several_words or (key.legal and s.key.legal))
                and not self._other_umbrella(key, s.account)
            ]
            if len(holding) == 1 and scored[holding[0]].score < floor:
                found = scored[holding[0]]
                scored[holding[0]] = _NameScore(found.account, floor, lead_name, key, found.key, False)

    @staticmethod
    def _other_umbrella(lead: CompanyKey, account: Account) -> bool:
        """The lead's name has an umbrella word ("Acme Holdings B.V.") the account's has not.

        Then the lead named a company the account ("Acme Technology B.V.") is not the
        same as, its sibling at best: no word was dropped, one was replaced.
        """
        if not lead.umbrella:
            return False
        own = company_key(account["name"])
        return own is None or not own.umbrella

    def _acronym(self, lead_keys: Sequence[tuple[str, CompanyKey]], scored: list[_NameScore]) -> None:
        """One name is the other's initials ("IBM", "International Business Machines"): review band.

        Initials alone cannot tell "IBM" from "Intl Beverage Makers", so only one
        such account is raised to the review score, and never above it: a person confirms.
        """
        floor = self.config.review_score
        for lead_name, key in lead_keys:
            holding = [
                at
                for at, s in enumerate(scored)
                if s.key is not None
                and s.score < floor
                and not legal_forms_conflict(key, s.key)
                and (is_acronym_of(key, s.key) or is_acronym_of(s.key, key))
            ]
            if len(holding) == 1:
                found = scored[holding[0]]
                scored[holding[0]] = _NameScore(found.account, floor, lead_name, key, found.key, False)

    @staticmethod
    def _best_score(
        lead_keys: Sequence[tuple[str, CompanyKey]], other: CompanyKey | None
    ) -> tuple[float, str]:
        """(score, lead name) of the lead's closest name against ``other``; the typed name wins ties."""
        best, best_name = 0.0, ""
        if other is not None:
            for lead_name, key in lead_keys:
                score = score_keys(key, other)
                if score > best or not best_name:
                    best, best_name = score, lead_name
        return best, best_name

    @staticmethod
    def _literal_score(lead_keys: Sequence[tuple[str, CompanyKey]], name: str) -> float:
        """Closeness of the full names, legal form included: only asked to break equal scores."""
        return max((literal_similarity(lead_name, name) for lead_name, _ in lead_keys), default=0.0)

    def _tiebreak(
        self,
        pool: list[Account],
        candidates: Candidates,
        first: Sequence[tuple[str, Callable[[Account], float]]] = (),
    ) -> tuple[Account, list[tuple[Account, str]], bool]:
        """(winner, losers with their reason, whether the tiebreakers separated them).

        ``first`` holds criteria applied before the standard chain (the name
        path prefers the closer full name); every criterion is "higher wins".
        """
        pool = sorted(pool, key=lambda a: a["id"])
        losers: list[tuple[Account, str]] = []
        chain: list[tuple[str, Callable[[Account], float] | None]] = [
            *first,
            (PARENT_OVER_CHILD, None),
            (FEWER_CONTACTS, lambda a: float(candidates.contact_counts.get(a["id"], 0))),
            (OLDER_ACTIVITY, lambda a: float(a["last_activity_ms"] or -1)),
        ]
        for reason, key in chain:
            if len(pool) == 1:
                break
            if key is None:
                ids = {a["id"] for a in pool}
                beaten = [a for a in pool if self._has_ancestor_in(a, ids, candidates)]
                if len(beaten) == len(pool):  # a parent cycle in the CRM: nobody wins this one
                    continue
            else:
                top = max(key(a) for a in pool)
                beaten = [a for a in pool if key(a) < top]
            losers += [(a, reason) for a in beaten]
            pool = [a for a in pool if a not in beaten]
        losers += [(a, LOWEST_ID) for a in pool[1:]]
        return pool[0], losers, len(pool) == 1

    @staticmethod
    def _has_ancestor_in(account: Account, ids: set[str], candidates: Candidates) -> bool:
        """True when the account's parent, grandparent … is one of ``ids``."""
        seen = {account["id"]}
        parent = account["parent_id"]
        while parent and parent not in seen:
            if parent in ids:
                return True
            seen.add(parent)
            above = candidates.related_accounts.get(parent)
            parent = above["parent_id"] if above else None
        return False

    @staticmethod
    def _candidate(account: Account, score: float, method: str, reason: str) -> CrmCandidate:
        return {
            "id": account["id"],
            "name": account["name"],
            "score": score,
            "method": method,
            "reason": reason,
        }

    def _account_section(
        self, pick: _AccountPick, candidates: Candidates, flags: set[str]
    ) -> CrmAccountMatch:
        """The account block, rolled up to the direct parent when configured and known."""
        account, rolled_up_from = pick.account, None
        parent_id = account["parent_id"]
        if self.config.roll_up_to_parent and parent_id:
            parent = candidates.related_accounts.get(parent_id)
            if parent is not None:
                account, rolled_up_from = parent, pick.account["id"]
                flags.add("crm_rolled_up")
        return {
            "id": account["id"],
            "name": account["name"],
            "owner_id": account["owner_id"],
            "parent_id": account["parent_id"],
            "type": account["type"],
            "tier": account["tier"],
            "method": pick.method,
            "score": pick.score,
            "matched_on": pick.matched_on,
            "rolled_up_from": rolled_up_from,
        }

    @staticmethod
    def _opportunities(candidates: Candidates, account_ids: Iterable[str]) -> list[CrmOpenOpportunity]:
        found: dict[str, Opportunity] = {}
        for account_id in account_ids:
            for opportunity in candidates.open_opportunities.get(account_id, ()):
                if opportunity["is_open"]:
                    found.setdefault(opportunity["id"], opportunity)
        return [
            {
                "id": o["id"],
                "owner_id": o["owner_id"],
                "stage": o["stage"],
                "amount": o["amount"],
                "close_date": o["close_date"],
            }
            for o in sorted(found.values(), key=lambda o: (o["close_date"] or "9999", o["id"]))
        ]


def match_lead(lead: Lead, matcher: Matcher, mirror: CrmMirror) -> Lead:
    """The lead with its ``crm`` section filled: one mirror round trip."""
    section = matcher.decide(lead, mirror.candidates(matcher.query_for(lead)))
    return {**lead, "crm": dict(section)}


def match_leads(leads: Sequence[Lead], matcher: Matcher, mirror: CrmMirror) -> list[Lead]:
    """Every lead matched, with one batched mirror call for the whole batch.

    A mirror that hands out answers as they come (``iter_candidates``, the Redis
    one) is used that way, so deciding a lead overlaps with the look-ups after it.
    """
    queries = [matcher.query_for(lead) for lead in leads]
    streaming = getattr(mirror, "iter_candidates", None)
    answers = streaming(queries) if streaming is not None else mirror.candidates_many(queries)
    return [
        {**lead, "crm": dict(matcher.decide(lead, found))} for lead, found in zip(leads, answers, strict=True)
    ]
