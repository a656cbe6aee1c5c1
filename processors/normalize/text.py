"""Text helpers shared by every field normalizer.

Forms send anything: numbers where text belongs, zero-width spaces from copy
and paste, placeholder words such as "N/A". Doing that clean-up in one place
keeps every field's rules consistent, and keeps each step idempotent so a
normalized value fed back in comes out unchanged.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Invisible format characters that copy and paste smuggle in. Zero-width
#: joiner and non-joiner (U+200C/D) are deliberately absent: Persian and Indic
#: names are spelled with them.
_INVISIBLE: frozenset[str] = frozenset(
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)

#: Values people type when a form forces them to fill a field. They mean
#: "nothing", so they count as missing rather than as bad data. "na" is absent
#: on purpose: it is a real surname.
NULL_TOKENS: frozenset[str] = frozenset(
    {
        "n/a",
        "n.a.",
        "n.a",
        "n / a",
        "none",
        "null",
        "nil",
        "nan",
        "undefined",
        "unknown",
        "not applicable",
        "-",
        "--",
        "---",
        "?",
        "??",
        "???",
        ".",
    }
)


def as_text(value: object) -> str | None:
    """Coerce a raw field to text; numbers from loose JSON become strings."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def _clean_char(ch: str) -> str:
    if ch.isspace():
        return " "
    if ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
        return ""
    return ch


def clean_text(text: str) -> str:
    """NFC-normalize, drop control/invisible characters, collapse whitespace.

    Lone surrogates are dropped too, so the result always encodes as UTF-8.
    """
    if not text.isprintable():
        text = "".join(_clean_char(ch) for ch in text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def is_null_token(text: str) -> bool:
    """True for placeholder values such as "N/A" or "none"."""
    return text.casefold() in NULL_TOKENS


def present(value: object) -> str | None:
    """Cleaned text of a raw field, or None when blank or a placeholder."""
    text = as_text(value)
    if text is None:
        return None
    text = clean_text(text)
    if not text or is_null_token(text):
        return None
    return text


@lru_cache(maxsize=32768)
def fold_tokens(text: str) -> tuple[str, ...]:
    """Accent-, case- and punctuation-insensitive word tokens of ``text``."""
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    chars = [ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)]
    return tuple("".join(chars).split())


def fold_key(text: str) -> str:
    """Lookup key: accents, case, spaces and punctuation all ignored."""
    return "".join(fold_tokens(text))


@lru_cache(maxsize=4096)
def _is_latin_letter(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def is_latin(text: str) -> bool:
    """True when every letter is Latin script (so Latin casing rules apply)."""
    return all(ch.isascii() or _is_latin_letter(ch) for ch in text if ch.isalpha())


def shouting_or_lower(text: str) -> bool:
    """True for ALL-CAPS or all-lower Latin text: the only text we re-case.

    Mixed case is the author's choice ("McDonald", "DeAndre", "eBay") and is
    never touched; non-Latin scripts are left alone as well.
    """
    return (text.isupper() or text.islower()) and is_latin(text)


def nfc(text: str) -> str:
    """NFC form; re-casing can decompose letters (dotted capital I)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def capitalize_word(word: str) -> str:
    """Upper-case the first letter, lower-case the rest ("o'neil" -> "O'neil").

    Letters whose upper case is several characters (German sharp s) keep
    their lower form, so re-casing never changes the letters themselves.
    """
    lowered = word.lower()
    for index, ch in enumerate(lowered):
        if ch.isalpha():
            upper = ch.upper()
            if len(upper) != 1:
                return lowered
            return lowered[:index] + upper + lowered[index + 1 :]
    return lowered
