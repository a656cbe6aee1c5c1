"""Job titles: whitespace and punctuation noise, and re-casing of shouting.

Titles are free text that the segment stage maps to seniority later, so
the words themselves are never changed. ALL-CAPS titles with real words
("VP OF SALES") and all-lower titles ("head of it") are re-cased; known
acronyms keep their capitals ("VP of Sales", "Head of IT").
"""

from __future__ import annotations

import re
from functools import lru_cache

from processors.normalize.text import capitalize_word, is_null_token, nfc, shouting_or_lower

_END_NOISE = ' ,;:!?*"_-\u2013\u2014/\\|#~<>=+@^`\u201c\u201d'

#: Acronyms and abbreviations with a fixed spelling in titles.
_ACRONYMS: dict[str, str] = {
    word.lower(): word
    for word in (
        "VP", "SVP", "EVP", "AVP", "CEO", "CFO", "CTO", "COO", "CIO", "CMO", "CRO",
        "CSO", "CISO", "CPO", "CDO", "CCO", "CHRO", "IT", "HR", "QA", "UI", "UX",
        "R&D", "PR", "SEO", "SEM", "AI", "ML", "API", "B2B", "B2C", "SaaS", "EMEA",
        "APAC", "AMER", "LATAM", "DACH", "US", "UK", "EU", "CRM", "ERP", "GM", "MD",
        "BDR", "SDR", "AE", "KAM", "PMO", "ICT", "IoT", "DevOps", "SRE", "FP&A",
        "P&L", "GTM", "RevOps", "SecOps", "PhD", "MBA", "CPA", "II", "III", "IV",
        "Sr.", "Jr.", "Mgr.",
    )
}  # fmt: skip

#: Short words lower-cased inside a re-cased title.
_STOPWORDS: frozenset[str] = frozenset(
    {"of", "and", "the", "for", "to", "in", "at", "on", "a", "an", "&", "de", "y"}
)

_LETTERS = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"[\w&.'\u2019]+")


def _needs_recase(text: str) -> bool:
    """All-lower, or ALL-CAPS containing a word that is not an acronym."""
    if not shouting_or_lower(text):
        return False
    if text.islower():
        return True
    return any(len(word) > 3 and word.lower() not in _ACRONYMS for word in _LETTERS.findall(text))


def _recase(text: str) -> str:
    shouting = text.isupper()
    seen_word = False

    def word(match: re.Match[str]) -> str:
        nonlocal seen_word
        token = match.group(0)
        lower = token.lower()
        first = not seen_word
        seen_word = True
        if lower in _ACRONYMS:
            return _ACRONYMS[lower]
        if lower in _STOPWORDS and not first:
            return lower
        if shouting and len(token) <= 3 and token.isalpha():
            return token  # an unknown acronym such as "VPE" or "MGR"
        return capitalize_word(lower)

    return nfc(_WORD.sub(word, text))


@lru_cache(maxsize=16384)
def normalize_title(text: str) -> str | None:
    """Display form of a job title; ``text`` is already whitespace-cleaned."""
    text = text.strip(_END_NOISE)
    if not text or is_null_token(text):
        return None
    if _needs_recase(text):
        text = _recase(text)
    return text
