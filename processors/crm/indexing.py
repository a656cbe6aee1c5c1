"""Which index entries a CRM record owns, so every mirror keeps its indexes exact.

A mirror stores, for each index key, the set of record references that
carry it. On an update it removes the entries the old version had and the
new one has not, and adds the new ones; on a delete it removes all of the
old version's entries. Computing the entries in one pure function means the
Redis mirror and the in-memory one can never disagree about them, and a
rename or a domain change leaves no stale entry behind.

Index keys (a mirror adds its own prefix):

=====================  ==================================  =====================
key                    member                              from
=====================  ==================================  =====================
``email:<key>``        ``contact:<id>`` / ``lead:<id>``    person's email match key
``phone:<e164>``       person ref                          person's phone
``pname:<key>``        person ref                          person's first and last name
``people:<account>``   person ref                          contact's account (counts)
``domain:<domain>``    account id                          each of an account's domains
``token:<token>``      account id                          each token of the account name
``children:<parent>``  account id                          account's parent
``opps:<account>``     opportunity id                      open opportunities only
=====================  ==================================  =====================
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache
from typing import Any

from processors.crm.forms import LEADING_FORMS, clean_name, join_initials
from processors.crm.models import Account, Opportunity, Person, RecordKind
from processors.normalize.company import normalize_company
from processors.normalize.emails import normalize_email

#: Tokens too common to find candidates by: they would pull in half the CRM.
STOP_TOKENS: frozenset[str] = frozenset(
    {"the", "and", "of", "for", "a", "an", "de", "la", "le", "der", "die", "das", "und", "et", "y", "&"}
)


#: Words this long are also indexed by their first and last letters (see company_tokens).
AFFIX_MIN_LENGTH = 6
AFFIX_LENGTH = 4
#: Two neighbouring words this short are also indexed joined: "Good Will" under "goodwill".
JOIN_MAX_LENGTH = 4
#: Names of this many words or more are also indexed by their initials, marked "ibm^".
ACRONYM_MIN_WORDS = 3
ACRONYM_MARK = "^"


def person_ref(kind: str, record_id: str) -> str:
    return f"{kind}:{record_id}"


@lru_cache(maxsize=65536)
def company_tokens(name: str) -> tuple[str, ...]:
    """Distinct tokens of a company name's match key, legal suffixes and stop words removed.

    Long words also yield "<first four>~" and "~<last four>" tokens, so a name
    with a typo in one word still finds its account among the candidates.
    """
    words = name_words(name)
    if not words:
        return ()
    seen: dict[str, None] = {}
    kept = [token for token in words if token not in STOP_TOKENS and len(token) > 1]
    seen.update(dict.fromkeys(kept))
    for word in kept:
        if len(word) >= AFFIX_MIN_LENGTH:
            # A typo rarely touches both ends of a long word: "glboex" still shares "~boex"
            # with "globex", so the account is at least a candidate to be scored.
            seen.setdefault(f"{word[:AFFIX_LENGTH]}~", None)
            seen.setdefault(f"~{word[-AFFIX_LENGTH:]}", None)
    for first, second in itertools.pairwise(kept):
        if len(first) <= JOIN_MAX_LENGTH and len(second) <= JOIN_MAX_LENGTH:
            seen.setdefault(first + second, None)
    initials = acronym(words)
    if initials:
        seen.setdefault(initials + ACRONYM_MARK, None)
    return tuple(seen)


@lru_cache(maxsize=65536)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a name's match key: place after the legal form cut, initials joined,
    a leading legal form ("JSC", "OOO") dropped."""
    company = normalize_company(clean_name(name))
    if company is None or not company.match_key:
        return ()
    words = join_initials(company.match_key.split())
    for size in (3, 2, 1):
        if len(words) > size and " ".join(words[:size]) in LEADING_FORMS:
            words = words[size:]
            break
    return tuple(words)


def acronym(words: tuple[str, ...] | list[str]) -> str | None:
    """Initials of a name of three words or more, joiners left out ("ibm").

    Indexed for accounts so that a lead typing only the initials still finds them.
    """
    kept = [word for word in words if word not in STOP_TOKENS]
    if len(kept) < ACRONYM_MIN_WORDS or not all(word[0].isalpha() for word in kept):
        return None
    return "".join(word[0] for word in kept)


def typo_variants(word: str) -> tuple[list[str], list[str]]:
    """(the word with one letter dropped or two neighbours swapped, its four-letter ends).

    One typo away from an account's word, a lead's word reaches it through one of
    these: a letter too many ("gloobex") or two swapped ("glboex") give the
    account's word itself among the first list; a wrong or missing letter in the
    middle ("globax") leaves the word's ends, which accounts are indexed by too.
    Both mirrors ask for exactly these, so the Redis script builds them the same
    way (for ASCII words: it works on bytes).
    """
    exact: dict[str, None] = {}
    for at in range(len(word)):
        exact.setdefault(word[:at] + word[at + 1 :], None)
    for at in range(len(word) - 1):
        exact.setdefault(word[:at] + word[at + 1] + word[at] + word[at + 2 :], None)
    exact.pop(word, None)
    affixes = list(dict.fromkeys((f"{word[:AFFIX_LENGTH]}~", f"~{word[-AFFIX_LENGTH:]}")))
    return list(exact), [affix for affix in affixes if affix not in exact and affix != word]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def person_name_key(first_name: str | None, last_name: str | None) -> str | None:
    """ "jane|doe" for Jane Doe (accents, case and punctuation folded); None without both names."""
    if not first_name or not last_name:
        return None
    first, last = _fold(first_name), _fold(last_name)
    return f"{first}|{last}" if first and last else None


def email_key(email: str | None) -> str | None:
    if not email:
        return None
    parsed = normalize_email(email)
    return parsed.match_key if parsed else None


#: Bumped whenever the entries a record is indexed under change: a mirror written under
#: another version is found stale at start and rebuilt from the CRM topics, because an
#: update only removes the entries the running code computes for the stored record.
INDEX_VERSION = 3


def index_entries(kind: RecordKind, record: Any) -> frozenset[tuple[str, str]]:
    """(index key, member) pairs this version of the record owns."""
    entries: set[tuple[str, str]] = set()
    if kind == "account":
        account: Account = record
        for domain in account["domains"]:
            entries.add((f"domain:{domain}", account["id"]))
        for token in company_tokens(account["name"]):
            entries.add((f"token:{token}", account["id"]))
        if account["parent_id"]:
            entries.add((f"children:{account['parent_id']}", account["id"]))
    elif kind in ("contact", "lead"):
        person: Person = record
        ref = person_ref(kind, person["id"])
        key = email_key(person["email"])
        if key:
            entries.add((f"email:{key}", ref))
        if person["phone"]:
            entries.add((f"phone:{person['phone']}", ref))
        name_key = person_name_key(person["first_name"], person["last_name"])
        if name_key:
            entries.add((f"pname:{name_key}", ref))
        if kind == "contact" and person["account_id"]:
            entries.add((f"people:{person['account_id']}", ref))
    else:
        opportunity: Opportunity = record
        if opportunity["is_open"] and opportunity["account_id"]:
            entries.add((f"opps:{opportunity['account_id']}", opportunity["id"]))
    return frozenset(entries)
