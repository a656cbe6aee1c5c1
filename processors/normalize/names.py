"""Person names: whitespace and end punctuation, and re-casing of shouting.

Only ALL-CAPS or all-lower Latin names are re-cased; a name typed in mixed
case is taken as the person's own spelling ("McDonald", "DeAndre", "da
Silva") and non-Latin scripts are never re-cased. The re-casing knows the
common patterns ("van der Berg", "de la Cruz", "O'Neil", "d'Artagnan",
"Jean-Luc", "McDonald") and is conservative where patterns are ambiguous
("Mac" only for known Gaelic stems, so "Mack" and "Machado" stay intact).
"""

from __future__ import annotations

import re
from functools import lru_cache

from processors.normalize.text import capitalize_word, is_null_token, nfc, shouting_or_lower

#: Noise at the ends of a name. Apostrophes stay ("'t Hooft"), as do brackets.
_END_NOISE = ' .,;:!?*"_-\u2013\u2014/\\|#~<>=+@^`\u201c\u201d'

#: Lower-case name particles, kept lower unless they are the last word.
_PARTICLES: frozenset[str] = frozenset(
    {
        "van", "von", "der", "den", "de", "del", "della", "delle", "dello", "degli",
        "di", "da", "das", "do", "dos", "du", "la", "le", "les", "lo", "ter", "ten",
        "te", "zu", "zum", "zur", "af", "av", "y", "e", "bin", "binti", "ibn",
    }
)  # fmt: skip

#: Generational suffixes written in capitals.
_ROMAN: frozenset[str] = frozenset({"ii", "iii", "iv", "vi", "vii", "viii"})

#: Gaelic stems written "Mac" + capital ("MacLeod"); any other "mac..." word
#: is simply capitalised, which is never wrong in a way that loses data.
_MAC_STEMS: frozenset[str] = frozenset(
    {
        "donald", "leod", "gregor", "kenzie", "kay", "lean", "neil", "millan",
        "pherson", "intyre", "arthur", "aulay", "innes", "ewan", "ewen", "allister",
        "alister", "farlane", "dougall", "dowell", "laren", "lachlan", "callum",
        "guire", "kinnon", "queen", "rae", "naughton", "namara", "cormack",
        "carthy", "bride", "bain", "cabe", "crae", "culloch", "iver", "kinlay",
        "lennan", "lure", "nab", "nair", "nally", "niven", "quarrie", "tavish",
        "dermott", "gillivray", "gowan", "grath", "hugh", "iain", "isaac",
    }
)  # fmt: skip

#: Single-letter prefixes before an apostrophe that stay lower case.
_LOWER_ELISIONS: frozenset[str] = frozenset({"d", "l"})

_ELISION = re.compile(r"^([^\W\d_])(['\u2019])(.+)$")


def _recase_part(part: str) -> str:
    """Re-case one lower-case word part (between hyphens)."""
    if part in _ROMAN:
        return part.upper()
    elision = _ELISION.match(part)
    if elision:
        prefix, apostrophe, rest = elision.groups()
        prefix = prefix if prefix in _LOWER_ELISIONS else capitalize_word(prefix)
        return prefix + apostrophe + _recase_part(rest)
    if part.startswith("mc") and len(part) > 3 and part[2].isalpha():
        return "Mc" + capitalize_word(part[2:])
    if part.startswith("mac") and part[3:] in _MAC_STEMS:
        return "Mac" + capitalize_word(part[3:])
    return capitalize_word(part)


def recase_name(text: str) -> str:
    """Proper case for an ALL-CAPS or all-lower name."""
    words = text.lower().split(" ")
    last = len(words) - 1
    out = []
    for index, word in enumerate(words):
        if word in _PARTICLES and index < last:
            out.append(word)
        else:
            out.append("-".join(_recase_part(part) for part in word.split("-")))
    return nfc(" ".join(out))


@lru_cache(maxsize=32768)
def normalize_name(text: str) -> str | None:
    """Display form of a first or last name; ``text`` is already cleaned."""
    text = text.strip(_END_NOISE)
    if not text or is_null_token(text):
        return None
    if shouting_or_lower(text):
        text = recase_name(text)
    return text
