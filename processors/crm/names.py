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

Initials are not expanded into full names (that needs a curated list per
CRM): a one-word name that is another's initials ("IBM" / "International
Business Machines") scores low here, and the matcher puts it in the review
band when one account alone fits (see ``Matcher._acronym``).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from processors.crm.forms import LEADING_FORMS, LEGAL_LONGEST, clean_name, join_initials
from processors.crm.forms import LEGAL_FORMS as _LEGAL_FORMS
from processors.crm.indexing import ACRONYM_MARK, STOP_TOKENS, acronym, company_tokens, name_words
from processors.crm.models import RecordKind
from processors.normalize.company import normalize_company

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
    "inds": "industries", "industry": "industries", "ind": "industries", "indus": "industries",
    "1st": "first", "2nd": "second", "3rd": "third",
    "pharm": "pharma", "pharmaceutical": "pharma", "pharmaceuticals": "pharma",
    "chem": "chemicals", "chemical": "chemicals",
    "comm": "communications", "comms": "communications", "communication": "communications",
    "govt": "government",
    "us": "united states", "usa": "united states", "uk": "united kingdom",
    "enterprise": "enterprises",
}  # fmt: skip

#: Words that never distinguish one company from another, dropped before scoring.
#: Joiners, and the words for a corporate umbrella: "Acme Group", "Acme Holdings"
#: and "The Acme Companies" all mean Acme.
NOISE_WORDS: frozenset[str] = frozenset({"the", "and", "of", "und", "et", "group", "holdings", "companies"})
UMBRELLA_WORDS: frozenset[str] = frozenset({"group", "holdings", "companies"})

#: Names of this many characters or fewer (spaces aside) only match exactly.
SHORT_NAME_LENGTH = 3
#: The highest score a differing short name can get: well under any review band.
SHORT_NAME_CAP = 60.0

#: Two names that share a word but differ in the others are only as alike as the words
#: that differ: "Blees Textiles" is not "Blake Textiles" however long "textiles" is. Differing
#: words at least this alike (or one typo apart) keep the whole-name score.
DIFFERING_WORDS_MIN = 85.0
#: The highest score of two names whose numbers differ: under any review band.
NUMERAL_CAP = 60.0

#: How a legal form is written short, for the tie-breaking literal form: "Incorporated"
#: and "Inc." are both "inc", "Corporation" is "corp", "L.L.C." is "llc".
_LEGAL_SHORT: dict[str, str] = {
    "incorporated": "inc", "corporation": "corp", "limited": "ltd", "company": "co", "companies": "cos",
    "public limited company": "plc", "public limited": "plc", "private": "pvt", "proprietary": "pty",
    "aktiengesellschaft": "ag", "gesellschaft mit beschrankter haftung": "gmbh", "kabushiki kaisha": "kk",
    "gesellschaft mit beschraenkter haftung": "gmbh", "limited liability company": "llc",
    "joint stock company": "jsc", "open joint stock company": "jsc", "naamloze vennootschap": "nv",
    "besloten vennootschap": "bv", "societe anonyme": "sa", "sociedad anonima": "sa",
}  # fmt: skip
#: Words that are a legal form only in front of another ("Private Limited"), never alone.
_LEGAL_PREFIX_ONLY: frozenset[str] = frozenset({"private", "proprietary", "public", "co", "company"})

#: Legal-form, umbrella and abbreviated words long enough that a typo in them ("Limietd",
#: "Holidngs", "Tehcnologies") is still recognized: one letter off, seven letters or more.
FUZZY_WORD_LENGTH = 7
_FUZZY_LEGAL = tuple(form for form in _LEGAL_FORMS if " " not in form and len(form) >= FUZZY_WORD_LENGTH)
_FUZZY_WORDS = tuple(
    sorted(
        word
        for word in {*ABBREVIATIONS, *ABBREVIATIONS.values(), *NOISE_WORDS}
        if len(word) >= FUZZY_WORD_LENGTH
    )
)

#: Bumped when the comparison form changes, so a mirror's stored keys are recomputed.
KEY_VERSION = 3

#: Canonical word → every abbreviation of it, to look candidates up under either.
_ALIASES: dict[str, tuple[str, ...]] = {}
for _short, _canonical in ABBREVIATIONS.items():
    _ALIASES[_canonical] = (*_ALIASES.get(_canonical, ()), _short)


class CompanyKey(NamedTuple):
    """A company name in comparison form."""

    text: str  # canonical words joined by spaces
    compact: str  # the same without spaces
    legal: str = ""  # the legal forms the name ends with, sorted, space-separated ("ltd pty")
    umbrella: bool = False  # an umbrella word ("holdings") was dropped; not stored with accounts


def transliterate(name: str) -> str:
    """ "Müller" → "Mueller": the spelling a person without umlaut keys types."""
    return name.translate(_TRANSLITERATION)


def _one_typo_from(word: str, vocabulary: tuple[str, ...]) -> str | None:
    """The one vocabulary word ``word`` is a single typo away from (OSA distance 1), if any."""
    if len(word) < FUZZY_WORD_LENGTH or word in vocabulary:
        return None
    found = [
        known for known in vocabulary if abs(len(known) - len(word)) <= 1 and OSA.distance(word, known) == 1
    ]
    return found[0] if len(found) == 1 else None


def _folded_words(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` case- and accent-folded, and the (start, end) of each word in it (as fold_tokens)."""
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", text).casefold() if not unicodedata.combining(ch)
    )
    spans: list[tuple[int, int]] = []
    start = -1
    for at, ch in enumerate(folded):
        if ch.isalnum():
            if start < 0:
                start = at
        elif start >= 0:
            spans.append((start, at))
            start = -1
    if start >= 0:
        spans.append((start, len(folded)))
    return folded, spans


class LegalSplit(NamedTuple):
    """A name cut before the legal forms it ends with."""

    core: str  # the name without them, case- and accent-folded, punctuation kept
    forms: frozenset[str]  # the forms, one code each ("Inc" and "Incorporated" are "inc")
    literal: str  # folded words, the legal forms written short ("acme pty ltd")


@lru_cache(maxsize=65536)
def legal_split(name: str) -> LegalSplit:
    """The name split from the legal forms it ends with.

    "Browne & Querini Public Limited Company" → core "browne & querini", forms
    {plc}; "Acme Pty Limited" → "acme", {pty, ltd}; a one-letter typo in a long
    legal word counts ("Breton Labs Limietd" → ltd). A name that is nothing but a
    legal form keeps it.
    """
    folded, spans = _folded_words(name)
    words = [folded[a:b] for a, b in spans]
    forms: set[str] = set()
    start = 0
    for size in range(min(LEGAL_LONGEST, len(words) - 1), 0, -1):
        phrase = " ".join(words[:size])
        if phrase in LEADING_FORMS:
            forms.add(_LEGAL_FORMS.get(phrase, phrase.replace(" ", "")))
            start = size
            break
    end = len(words)
    short: list[str] = []
    while end > start + 1:
        for size in range(min(LEGAL_LONGEST, end - start - 1), 0, -1):
            phrase = " ".join(words[end - size : end])
            if size == 1 and phrase not in _LEGAL_FORMS:
                phrase = _one_typo_from(phrase, _FUZZY_LEGAL) or phrase
            if phrase in _LEGAL_FORMS and (phrase not in _LEGAL_PREFIX_ONLY or end < len(words)):
                if _LEGAL_FORMS[phrase]:
                    forms.add(_LEGAL_FORMS[phrase])
                short.insert(0, _LEGAL_SHORT.get(phrase, phrase.replace(" ", "")))
                end -= size
                break
        else:
            break
    if end == len(words) and not start:
        return LegalSplit(folded, frozenset(), " ".join(words))
    core = folded[spans[start][0] : spans[end - 1][1]]
    return LegalSplit(core, frozenset(forms), " ".join([*words[start:end], *short]))


_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip


def numbers_as_digits(words: list[str]) -> list[str]:
    """Numbers written out become digits: "three rivers" → "3 rivers", "forty four" → "44".

    "Brigade Forty-Four" and "Brigade 44" are one name, and numbers are compared
    as numbers (see :func:`numerals`); "Forty 4" is read as 44 too.
    """
    out: list[str] = []
    at = 0
    while at < len(words):
        word = words[at]
        nxt = words[at + 1] if at + 1 < len(words) else ""
        if word in _TENS and (nxt in _UNITS or (len(nxt) == 1 and nxt in "123456789")):
            out.append(str(_TENS[word] + (_UNITS[nxt] if nxt in _UNITS else int(nxt))))
            at += 2
            continue
        value = _UNITS.get(word) or _TEENS.get(word) or _TENS.get(word)
        out.append(str(value) if value else word)
        at += 1
    return out


@lru_cache(maxsize=65536)
def company_key(name: str) -> CompanyKey | None:
    """Comparison form of a company name; None when nothing usable is left."""
    spelled = transliterate(clean_name(name))
    core, forms, _ = legal_split(spelled)
    company = normalize_company(core) or normalize_company(spelled)
    if company is None or not company.match_key:
        return None
    words = join_initials(company.match_key.split())
    for at in range(1, len(words)):  # a typo in a known word; the first word is the name itself
        words[at] = _one_typo_from(words[at], _FUZZY_WORDS) or words[at]
    words = numbers_as_digits([ABBREVIATIONS.get(token, token) for token in words])
    kept = [word for word in words if word not in NOISE_WORDS] or words
    text = " ".join(kept)
    umbrella = any(word in UMBRELLA_WORDS for word in words) and kept is not words
    return CompanyKey(text, text.replace(" ", ""), " ".join(sorted(forms)), umbrella)


def stored_key(name: str) -> list[Any] | None:
    """The comparison form to store with an account, so matching never recomputes it.

    Computing a key costs ~100 µs (legal-form removal); a lead compared with
    25 candidate accounts would pay that 25 times. Mirrors store this with
    each account (``name_key``: version, words, legal forms) when crm-sync
    writes it; a key stored by another ``KEY_VERSION`` is recomputed, not trusted.
    """
    key = company_key(name)
    return [KEY_VERSION, key.text, key.legal] if key is not None else None


def account_key(account: Mapping[str, Any]) -> CompanyKey | None:
    """An account's comparison form: the stored one when the mirror has it, else computed."""
    stored = account.get("name_key")
    if isinstance(stored, list | tuple) and len(stored) == 3 and stored[0] == KEY_VERSION:
        return CompanyKey(stored[1], stored[1].replace(" ", ""), stored[2])
    return company_key(account["name"])


def legal_forms_conflict(a: CompanyKey, b: CompanyKey) -> bool:
    """Both names end in a legal form and they share none: "Acme AB" and "Acme KG"."""
    if not a.legal or not b.legal:
        return False
    return not set(a.legal.split()) & set(b.legal.split())


def _differing_words_score(a: str, b: str) -> float | None:
    """How alike the words two names do not share are; None unless they share one and both differ."""
    words_a, words_b = a.split(), b.split()
    rest_b = list(words_b)
    rest_a = []
    for word in words_a:
        if word in rest_b:
            rest_b.remove(word)
        else:
            rest_a.append(word)
    if not rest_a or not rest_b or len(rest_a) == len(words_a):
        return None
    joined_a, joined_b = "".join(rest_a), "".join(rest_b)
    if OSA.distance(joined_a, joined_b) <= 1:
        return 100.0  # one typo apart
    return max(fuzz.ratio(joined_a, joined_b), fuzz.ratio("".join(sorted(rest_a)), "".join(sorted(rest_b))))


_ROMAN = re.compile(r"^(?=[ivxl]{2,}$)l?x{0,3}(ix|iv|v?i{0,3})$")


def numerals(text: str) -> tuple[str, ...]:
    """The numbers in a name, digits or Roman ("ii", "xiv"), sorted: a series or a sibling's mark."""
    return tuple(sorted(word for word in text.split() if word.isdigit() or _ROMAN.match(word)))


def score_keys(a: CompanyKey, b: CompanyKey) -> float:
    """Similarity of two comparison forms, 0–100, rounded to one decimal.

    Names whose numbers differ ("Solutions II" / "Solutions", "Fund 3" / "Fund 4")
    are siblings, not spellings of one name: they score at most ``NUMERAL_CAP``.
    """
    if a.text == b.text or a.compact == b.compact:
        return 100.0
    if numerals(a.text) != numerals(b.text):
        return min(NUMERAL_CAP, _plain_score(a, b))
    return _plain_score(a, b)


def _plain_score(a: CompanyKey, b: CompanyKey) -> float:
    score = max(
        fuzz.ratio(a.text, b.text),
        fuzz.token_sort_ratio(a.text, b.text),
        fuzz.ratio(a.compact, b.compact),
    )
    if min(len(a.compact), len(b.compact)) <= SHORT_NAME_LENGTH:
        score = min(score, SHORT_NAME_CAP)
    elif score >= DIFFERING_WORDS_MIN:
        differing = _differing_words_score(a.text, b.text)
        if differing is not None and differing < DIFFERING_WORDS_MIN:
            score = min(score, differing)
    return round(score, 1)


def words_contained(lead: CompanyKey, account: CompanyKey) -> bool:
    """Every word of the lead's name is in the account's, which has more: a dropped word."""
    lead_words, account_words = lead.text.split(), account.text.split()
    if len(lead_words) >= len(account_words):
        return False
    rest = list(account_words)
    for word in lead_words:
        if word not in rest:
            return False
        rest.remove(word)
    return True


def is_acronym_of(short: CompanyKey, long: CompanyKey) -> bool:
    """``short`` is one word, the initials of ``long``'s three words or more ("ibm")."""
    return " " not in short.text and len(short.text) >= 2 and acronym(long.text.split()) == short.text


def company_similarity(a: str, b: str) -> float:
    """How alike two company names are, 0–100 (0 when either has nothing comparable)."""
    key_a, key_b = company_key(a), company_key(b)
    if key_a is None or key_b is None:
        return 0.0
    return score_keys(key_a, key_b)


def literal_similarity(a: str, b: str) -> float:
    """Similarity of two full names, legal forms written short: breaks ties between equal accounts.

    "Acme GmbH" scores 100 against both "Acme GmbH" and "Acme Ltd"; the
    literal form, legal form included, prefers the German one.
    """
    return round(fuzz.ratio(legal_split(a).literal, legal_split(b).literal), 1)


@lru_cache(maxsize=65536)
def lookup_tokens(name: str) -> tuple[str, ...]:
    """Index tokens to look a company up by, its spelling variants included.

    Accounts are indexed by :func:`~processors.crm.indexing.company_tokens`
    of their name as typed, so "Müller" sits under "muller" and "Acme Intl"
    under "intl". A lead typing "Mueller" or "Acme International" must ask
    for those spellings too, or the account is never a candidate. The typo
    tokens accounts also carry ("glob~") are asked only through
    :func:`typo_words`.
    """
    seen: dict[str, None] = dict.fromkeys(_words(name))
    seen.update(dict.fromkeys(_words(transliterate(name))))
    words = [word for word in name_words(transliterate(name)) if word not in STOP_TOKENS]
    # Split and joined words: "Pricewaterhouse Coopers" asks for "pricewaterhousecoopers",
    # "PricewaterhouseCoopers" for "pricewaterhouse" and "coopers".
    seen.update(dict.fromkeys(first + second for first, second in itertools.pairwise(words)))
    seen.update(dict.fromkeys(part.casefold() for part in _CAMEL_PART.findall(name) if len(part) > 1))
    every = name_words(transliterate(name))
    if 2 <= len(every) <= 4:
        seen.setdefault("".join(every), None)  # "van der bilt" finds "vanderbilt"
    initials = acronym(words)
    if initials:
        seen.setdefault(initials, None)  # "International Business Machines" finds an "IBM" account
    if len(words) == 1 and 2 <= len(words[0]) <= ACRONYM_MAX_LENGTH:
        seen.setdefault(words[0] + ACRONYM_MARK, None)  # "IBM" finds "International Business Machines"
    for token in list(seen):
        if ACRONYM_MARK in token:
            continue
        seen.setdefault(token.replace("ae", "a").replace("oe", "o").replace("ue", "u"), None)
        canonical = ABBREVIATIONS.get(token, token)
        if canonical in NOISE_WORDS:
            continue
        seen.setdefault(canonical, None)
        for alias in _ALIASES.get(canonical, ()):
            if len(alias) > 1:
                seen.setdefault(alias, None)
    return tuple(seen)


#: Words shorter than this get no typo variants: a short word one letter off is another word.
TYPO_MIN_LENGTH = 5
#: Nor do longer ones: no company's word is this long ("Donaudampfschifffahrtsgesellschaft" is 34),
#: and a word of n letters has 2n variants of n letters each, built inside Redis's single thread.
#: A 10,000-letter "company" kept the look-up script busy for seconds, past the stage's timeout.
TYPO_MAX_LENGTH = 40
#: At most this many words of one name get variants: names have a handful, a hostile one thousands.
TYPO_MAX_WORDS = 16


#: A lead's one-word name this long or shorter may be another account's initials.
ACRONYM_MAX_LENGTH = 6
#: The capitalised pieces of a word written in camel case ("PricewaterhouseCoopers").
_CAMEL_PART = re.compile(r"(?<=[a-z])[A-Z][a-z]+|\b[A-Z][a-z]+(?=[A-Z][a-z])")


def _words(name: str) -> list[str]:
    return [token for token in company_tokens(name) if "~" not in token and ACRONYM_MARK not in token]


@lru_cache(maxsize=65536)
def typo_words(name: str) -> tuple[str, ...]:
    """The words of the name a typo may hide in, for :attr:`MatchQuery.typo_words`.

    Words of five to forty letters that are not abbreviations or umbrella words
    (those have their own spellings), only ASCII ones (the Redis mirror builds
    the variants bytewise), and the first sixteen of them: the cost of a
    look-up stays bounded whatever a sender puts in the company field. A mirror
    tries a word's variants only when no account carries the word, so a name
    spelled as in the CRM costs nothing.
    """
    return tuple(
        word
        for word in dict.fromkeys((*name_words(name), *name_words(transliterate(name))))
        if TYPO_MIN_LENGTH <= len(word) <= TYPO_MAX_LENGTH
        and word.isascii()
        and word not in ABBREVIATIONS
        and word not in _ALIASES
        and word not in NOISE_WORDS
    )[:TYPO_MAX_WORDS]


def prepared(kind: RecordKind, record: Any) -> Any:
    """The record as a mirror stores it: accounts carry their name's comparison form.

    Every mirror stores records through this, so the matcher never spends time
    recomputing a candidate account's key (see :func:`stored_key`).
    """
    if kind != "account":
        return record
    return {**record, "name_key": stored_key(record["name"])}
