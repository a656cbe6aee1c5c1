"""Company names: a tidy display form and a key for matching accounts.

The display form stays close to what the lead typed; only shouting
("ACME HOLDINGS") or all-lower ("acme holdings") input is re-cased. The
match key is deliberately lossy so that "ACME Incorporated", "Acme, Inc."
and "acme inc" all meet at "acme".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from cleanco import basename

from processors.normalize.text import (
    capitalize_word,
    fold_tokens,
    is_null_token,
    nfc,
    shouting_or_lower,
)

#: Punctuation that is noise at either end of a company name. "!" ("Yahoo!"),
#: brackets ("Acme (UK)") and a single closing "." ("Acme Inc.") are kept.
_END_NOISE = " ,;:*_-\u2013\u2014/\\|#~=+\"'`\u2018\u2019\u201c\u201d<>^@"

#: Legal forms whose conventional casing is not simple title case.
_LEGAL_CASE: dict[str, str] = {
    "inc": "Inc", "ltd": "Ltd", "co": "Co", "corp": "Corp", "llc": "LLC",
    "llp": "LLP", "lp": "LP", "plc": "PLC", "gmbh": "GmbH", "ag": "AG",
    "kg": "KG", "kgaa": "KGaA", "ug": "UG", "se": "SE", "sa": "SA", "sas": "SAS",
    "sarl": "SARL", "bv": "BV", "nv": "NV", "ab": "AB", "asa": "ASA",
    "oy": "Oy", "oyj": "Oyj", "spa": "SpA", "srl": "Srl", "pty": "Pty",
    "pvt": "Pvt", "kk": "KK", "ltda": "Ltda", "sl": "SL",
}  # fmt: skip

#: Short words that are not acronyms, lower-cased inside a re-cased name.
_STOPWORDS: frozenset[str] = frozenset(
    {"and", "of", "the", "for", "de", "du", "des", "la", "le", "et", "und", "y", "van", "von"}
)

#: Common words that a shouting name spells in four letters or fewer and that
#: are not acronyms ("BANK OF AMERICA" -> "Bank of America", not "BANK of").
_COMMON_SHORT_WORDS: frozenset[str] = frozenset(
    {
        "air", "all", "art", "arts", "auto", "bank", "bay", "best", "big", "bio",
        "blue", "body", "book", "care", "cars", "city", "club", "code", "cool",
        "core", "data", "deep", "east", "easy", "eco", "farm", "fast", "film",
        "fire", "fish", "five", "food", "four", "free", "fund", "game", "gas",
        "gold", "good", "hair", "hill", "home", "hub", "king", "lab", "labs",
        "lake", "land", "life", "line", "link", "live", "loan", "mail", "main",
        "meat", "mill", "mind", "new", "next", "nine", "oak", "oil", "one", "open",
        "park", "pay", "pet", "pets", "pine", "play", "port", "red", "rock", "rose",
        "safe", "sea", "shop", "six", "sky", "snow", "soft", "star", "sun", "team",
        "tech", "ten", "town", "tree", "true", "two", "view", "wave", "web", "west",
        "wind", "wine", "wood", "work", "yard", "zone",
    }
)  # fmt: skip

_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
_DOTTED_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?\.?$")
_LETTERS = re.compile(r"[^\W\d_]+")


class CompanyResult(NamedTuple):
    """Display name and match key of one company."""

    name: str
    match_key: str | None


def _trim(text: str) -> str:
    """Strip end noise; keep one closing "." after a letter ("Acme Inc.")."""
    text = text.lstrip(_END_NOISE + ".")
    trimmed = text.rstrip(_END_NOISE + ".")
    tail = text[len(trimmed) :]
    if tail.startswith(".") and not tail.startswith("..") and trimmed[-1:].isalpha():
        trimmed += "."
    return trimmed


def _recase_token(token: str, first: bool, shouting: bool) -> str:
    lower = token.lower()
    bare = lower.rstrip(".,")
    if bare in _LEGAL_CASE:
        return _LEGAL_CASE[bare] + lower[len(bare) :]
    if _DOTTED_INITIALS.match(token):
        return token.upper()
    if bare in _STOPWORDS:
        return capitalize_word(lower) if first else lower
    letters = "".join(_LETTERS.findall(token))
    if shouting and len(letters) <= 4 and bare not in _COMMON_SHORT_WORDS:
        return token  # an acronym such as "IBM", "SAP", "BMW"
    parts = lower.split("-")
    return "-".join(_recase_part(part) for part in parts)


def _recase_part(part: str) -> str:
    if part.startswith("mc") and len(part) > 3 and part[2].isalpha():
        return "Mc" + capitalize_word(part[2:])
    if len(part) > 3 and part[0] == "o" and part[1] in "'\u2019":
        return "O" + part[1] + capitalize_word(part[2:])
    return capitalize_word(part)


def _needs_recase(text: str) -> bool:
    """All-lower, or ALL-CAPS with at least one word too long to be an acronym."""
    if not shouting_or_lower(text):
        return False
    if text.islower():
        return True
    return any(len(word) > 4 for word in _LETTERS.findall(text))


def display_name(text: str) -> str:
    """Tidy display form; ``text`` is already whitespace-cleaned."""
    text = _trim(text)
    if text and _needs_recase(text):
        shouting = text.isupper()
        tokens = text.split(" ")
        text = " ".join(_recase_token(token, index == 0, shouting) for index, token in enumerate(tokens))
        text = nfc(text)
    return text


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=65536)
def _legal_base(folded: str) -> str:
    """Remove legal forms with cleanco until none is left ("acme corp ltd")."""
    for _ in range(4):
        stripped = basename(folded).strip()
        if not stripped or stripped == folded:
            break
        folded = stripped
    return folded


def match_key(name: str) -> str | None:
    """Lower-case, accent-free key without legal form or punctuation.

    Beyond the usual folding, apostrophes are dropped rather than spaced
    ("McDonald's" meets "McDonalds") and a leading "the" is ignored ("The
    Coca-Cola Company" meets "Coca-Cola").
    """
    base = _legal_base(_fold(name)).replace("&", " and ")
    tokens = list(fold_tokens(_APOSTROPHES.sub("", base)))
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    return " ".join(tokens) or None


@lru_cache(maxsize=65536)
def normalize_company(text: str) -> CompanyResult | None:
    """Display name and match key; None when nothing usable is left."""
    name = display_name(text)
    if not name or is_null_token(name):
        return None
    return CompanyResult(name=name, match_key=match_key(name))
