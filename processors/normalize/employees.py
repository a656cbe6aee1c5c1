"""Company size text ("51-200", "10k", "1.000", ">5000") to a numeric range.

Forms send picklist labels, free text and numbers with every thousands
convention. Strict bounds are kept strictly: ">5000" is 5001 and up, "<10"
is 1 to 9 (a company has at least one person). Open-ended ranges have no
maximum. Counts above ``MAX_EMPLOYEES`` are treated as typos.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Larger than any employer on earth; bigger numbers are data-entry errors.
MAX_EMPLOYEES = 10_000_000

#: Longer text is not a company size (and is not worth running regexes on).
_MAX_LENGTH = 80

_NOISE_WORDS = re.compile(
    r"\b(?:employees?|staff|people|persons?|ppl|emps?|headcount|fte|mitarbeiter|"
    r"approx(?:imately)?|about|around|circa|ca|c|roughly|est(?:imated)?)\b\.?"
)
_NUMBER = r"\d[\d,.' \u2019\u00a0\u202f]*?(?:[.,]\d+)?\s*[km]?"
_RANGE = re.compile(rf"^(?:between\s+)?({_NUMBER})\s*(?:-|to|and|bis|a|à|until|through)\s*({_NUMBER})$")
_SINGLE = re.compile(rf"^({_NUMBER})\s*(\+|or more|and (?:up|above|over)|plus)?$")
_BOUND = re.compile(
    rf"^(>=|=>|≥|<=|=<|≤|>|<|over|more than|above|greater than|at least|min(?:imum)?|"
    rf"under|less than|fewer than|below|up to|max(?:imum)?)\s*({_NUMBER})$"
)
_THOUSANDS = re.compile(r"^\d{1,3}(?:([,.' \u2019\u00a0\u202f])\d{3})(?:\1\d{3})*$")


def parse_count(text: str) -> int | None:
    """One head count; thousands separators and "k"/"m" suffixes understood.

    "1.000" and "1,000" are both a thousand (German and English grouping);
    "1.5" without a suffix is not a head count. "1.5k" and "1,5k" are 1500.
    """
    text = text.strip()
    if sum(ch.isdecimal() for ch in text) > 12:
        return None  # far beyond MAX_EMPLOYEES; also keeps int() cheap
    multiplier = 1
    if text[-1:] in ("k", "m"):
        multiplier = 1_000 if text[-1] == "k" else 1_000_000
        text = text[:-1].strip()
        match = re.fullmatch(r"(\d+)(?:[.,](\d+))?", text)
        if match is None:
            return None
        whole, fraction = match.group(1), match.group(2) or ""
        scaled = int(whole + fraction) * multiplier
        if scaled % (10 ** len(fraction)):
            return None
        value = scaled // (10 ** len(fraction))
    elif text.isdecimal():
        value = int(text)
    elif _THOUSANDS.match(text):
        value = int(re.sub(r"\D", "", text))
    else:
        return None
    return value if value <= MAX_EMPLOYEES else None


def _bounded(op: str, value: int) -> tuple[int, int | None] | None:
    """Range for a comparison such as ">5000"; None when it makes no sense."""
    if op in (">", "over", "more than", "above", "greater than"):
        return (value + 1, None) if value < MAX_EMPLOYEES else None
    if op in (">=", "=>", "≥", "at least", "min", "minimum"):
        return value, None
    if op in ("<", "under", "less than", "fewer than", "below"):
        return (1, value - 1) if value > 1 else None
    return (1, value) if value >= 1 else None  # <=, up to, max


@lru_cache(maxsize=4096)
def parse_employees(text: str) -> tuple[int, int | None] | None:
    """(min, max) for a size; max None when open-ended; None if unparseable."""
    if len(text) > _MAX_LENGTH:
        return None  # no real size label is this long; bounds regex work
    text = text.lower().replace("\u2013", "-").replace("\u2014", "-")
    text = " ".join(_NOISE_WORDS.sub(" ", text).replace("~", " ").split())
    if not text:
        return None
    bound = _BOUND.match(text)
    if bound:
        value = parse_count(bound.group(2))
        return None if value is None else _bounded(bound.group(1), value)
    single = _SINGLE.match(text)
    if single:
        value = parse_count(single.group(1))
        if value is None:
            return None
        return (value, None) if single.group(2) else (value, value)
    pair = _RANGE.match(text)
    if pair:
        low, high = parse_count(pair.group(1)), parse_count(pair.group(2))
        if low is None or high is None:
            return None
        return (min(low, high), max(low, high))
    return None


def employees_to_raw(low: int, high: int | None) -> str:
    """Raw text that parses back to the same range."""
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"
