"""Comparing company names: does "ACME Intl. Ltd" mean the same firm as "Acme International"?

A lead's company name is typed by a person; an account name is typed by
another. Both go through the same comparison form before scoring:

1. German umlauts are written out (ä → ae, ö → oe, ü → ue, ß → ss), so
   "Müller" and "Mueller" meet; other accents are simply folded.
2. :func:`~processors.normalize.company.normalize_company` folds case, accents
   and punctuation, drops legal forms ("Inc", "GmbH", "Ltd", "Company"), a
   leading "the", and spells "&" as "and".
3. Common abbreviations and singular/plural forms of descriptive words are
   rewritten to one canonical word ("Intl" → "international", "Tech" and
   "Technologies" → "technology").
4. Noise words that never tell two companies apart are dropped: joiners
   ("and", "of", "the") and corporate-umbrella words ("group", "holdings"),
   so "Acme Holdings" is "Acme". Words that describe a line of business
   ("mining", "bank", "logistics") are kept: "Acme Mining" is not "Acme".

The score is rapidfuzz's Indel similarity (``fuzz.ratio``) on the whole
comparison form, so every extra or missing word costs its full length: a
name that is a prefix of another ("Apple" / "Apple Bank") scores low, unlike
partial or token-set scorers that would call it 100. Word order is ignored
(the best of the plain and the token-sorted ratio), and so are spaces inside
a name ("Acme Widgets" / "AcmeWidgets", "A.C.M.E." / "ACME"). One inserted
letter costs one edit and a swapped or wrong letter two, so on very short
names any difference is a real difference; names of three characters or
fewer must match exactly ("GE" is not "GEA").

Expanding acronyms into full names ("IBM" → "International Business
Machines") is out of scope: it needs a curated list per CRM, and a wrong
guess routes a lead to the wrong owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from processors.crm.indexing import company_tokens
from processors.normalize.company import normalize_company
from processors.normalize.text import fold_tokens

#: German letters written out the way Germans do without the keyboard for them.
_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)

#: Abbreviations and variant spellings, to one canonical word. Only words whose
#: variants never name different things in a company name are listed.
ABBREVIATIONS: dict[str, str] = {
    "intl": "international", "internatl": "international",
    "mfg": "manufacturing", "mfr": "manufacturing", "manuf": "manufacturing",
    "tech": "technology", "techs": "technology", "technologies": "technology",
    "svc": "services", "svcs": "services", "srvcs": "services", "service": "services",
    "sys": "systems", "system": "systems",
    "soln": "solutions", "solns": "solutions", "solution": "solutions",
    "grp": "group", "hldg": "holdings", "hldgs": "holdings", "holding": "holdings",
    "bros": "brothers", "bro": "brothers",
    "co": "company", "cos": "companies", "corp": "corporation",
    "assoc": "associates", "assocs": "associates", "associate": "associates",
    "mgmt": "management", "mgt": "management",
    "natl": "national",
    "dept": "department",
    "univ": "university",
    "inst": "institute",
    "ctr": "center", "centre": "center",
    "hosp": "hospital",
    "lab": "laboratories", "labs": "laboratories", "laboratory": "laboratories",
    "engg": "engineering", "engr": "engineering",
    "inds": "industries", "industry": "industries",
    "pharm": "pharma", "pharmaceutical": "pharma", "pharmaceuticals": "pharma",
    "chem": "chemicals", "chemical": "chemicals",
    "comm": "communications", "comms": "communications", "communication": "communications",
    "govt": "government",
    "enterprise": "enterprises",
}  # fmt: skip

#: Words that never distinguish one company from another, dropped before scoring.
#: Joiners, and the words for a corporate umbrella: "Acme Group", "Acme Holdings"
#: and "The Acme Companies" all mean Acme.
NOISE_WORDS: frozenset[str] = frozenset({"the", "and", "of", "und", "et", "group", "holdings", "companies"})

#: Names of this many characters or fewer (spaces aside) only match exactly.
SHORT_NAME_LENGTH = 3
#: The highest score a differing short name can get: well under any review band.
SHORT_NAME_CAP = 60.0

#: Canonical word → every abbreviation of it, to look candidates up under either.
_ALIASES: dict[str, tuple[str, ...]] = {}
for _short, _canonical in ABBREVIATIONS.items():
    _ALIASES[_canonical] = (*_ALIASES.get(_canonical, ()), _short)


class CompanyKey(NamedTuple):
    """A company name in comparison form."""

    text: str  # canonical words joined by spaces
    compact: str  # the same without spaces
    literal: str  # case- and accent-folded full name, legal form kept: only for tie-breaking


def transliterate(name: str) -> str:
    """ "Müller" → "Mueller": the spelling a person without umlaut keys types."""
    return name.translate(_TRANSLITERATION)


@lru_cache(maxsize=65536)
def company_key(name: str) -> CompanyKey | None:
    """Comparison form of a company name; None when nothing usable is left."""
    company = normalize_company(transliterate(name))
    if company is None or not company.match_key:
        return None
    words = [ABBREVIATIONS.get(token, token) for token in company.match_key.split()]
    kept = [word for word in words if word not in NOISE_WORDS] or words
    text = " ".join(kept)
    return CompanyKey(text=text, compact=text.replace(" ", ""), literal=" ".join(fold_tokens(name)))


def stored_key(name: str) -> list[str] | None:
    """The comparison form to store with an account, so matching never recomputes it.

    Computing a key costs ~100 µs (legal-form removal); a lead compared with
    25 candidate accounts would pay that 25 times. Mirrors store this with
    each account (``name_key``) when crm-sync writes it.
    """
    key = company_key(name)
    return list(key) if key is not None else None


def account_key(account: Mapping[str, Any]) -> CompanyKey | None:
    """An account's comparison form: the stored one when the mirror has it, else computed."""
    stored = account.get("name_key")
    if isinstance(stored, list | tuple) and len(stored) == 3:
        return CompanyKey(*stored)
    return company_key(account["name"])


def score_keys(a: CompanyKey, b: CompanyKey) -> float:
    """Similarity of two comparison forms, 0–100, rounded to one decimal."""
    if a.text == b.text or a.compact == b.compact:
        return 100.0
    score = max(
        fuzz.ratio(a.text, b.text),
        fuzz.token_sort_ratio(a.text, b.text),
        fuzz.ratio(a.compact, b.compact),
    )
    if min(len(a.compact), len(b.compact)) <= SHORT_NAME_LENGTH:
        score = min(score, SHORT_NAME_CAP)
    return round(score, 1)


def company_similarity(a: str, b: str) -> float:
    """How alike two company names are, 0–100 (0 when either has nothing comparable)."""
    key_a, key_b = company_key(a), company_key(b)
    if key_a is None or key_b is None:
        return 0.0
    return score_keys(key_a, key_b)


def literal_similarity(a: CompanyKey, b: CompanyKey) -> float:
    """Similarity of the full folded names: breaks ties between equally good accounts.

    "Acme GmbH" scores 100 against both "Acme GmbH" and "Acme Ltd"; the
    literal form, legal form included, prefers the German one.
    """
    return round(fuzz.ratio(a.literal, b.literal), 1)


@lru_cache(maxsize=65536)
def lookup_tokens(name: str) -> tuple[str, ...]:
    """Index tokens to look a company up by, its spelling variants included.

    Accounts are indexed by :func:`~processors.crm.indexing.company_tokens`
    of their name as typed, so "Müller" sits under "muller" and "Acme Intl"
    under "intl". A lead typing "Mueller" or "Acme International" must ask
    for those spellings too, or the account is never a candidate.
    """
    seen: dict[str, None] = dict.fromkeys(company_tokens(name))
    seen.update(dict.fromkeys(company_tokens(transliterate(name))))
    for token in list(seen):
        seen.setdefault(token.replace("ae", "a").replace("oe", "o").replace("ue", "u"), None)
        canonical = ABBREVIATIONS.get(token, token)
        if canonical in NOISE_WORDS:
            continue
        seen.setdefault(canonical, None)
        for alias in _ALIASES.get(canonical, ()):
            if len(alias) > 1:
                seen.setdefault(alias, None)
    return tuple(seen)
