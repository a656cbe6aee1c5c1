"""Submission times to one canonical form: ISO 8601, UTC, milliseconds, "Z".

Accepted: ISO 8601 with or without offset (naive means UTC), the same with
a space instead of "T", epoch seconds or milliseconds as text, and RFC 2822
("Tue, 24 Nov 2026 13:05:00 +0000"). Ambiguous day/month orders
("11/03/2026") are rejected rather than guessed. Times before 1970 are
rejected as data errors: no lead was submitted then.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NUMBER = re.compile(r"^[0-9]{9,14}(?:\.[0-9]{1,9})?$")
#: Epoch values at or above this are milliseconds (1e11 s is the year 5138).
_MILLIS_FROM = Decimal(100_000_000_000)
_SLASHED_ISO = re.compile(r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})(?=$|[T ])")
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)
#: RFC 2822 shape; guards parsedate's leniency (it drops "PM" silently).
_RFC_2822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s+(?:[+-]\d{4}|[A-Za-z]{1,5}))?$"
)


def _from_epoch(text: str) -> datetime | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    millis = value if value >= _MILLIS_FROM else value * 1000
    return _EPOCH + timedelta(milliseconds=int(millis))


def _from_iso(text: str) -> datetime | None:
    if _UTC_SUFFIX.search(text):
        text = _UTC_SUFFIX.sub("", text) + "+00:00"  # "2026-11-24 13:05:00 UTC"
    slashed = _SLASHED_ISO.match(text)
    if slashed:
        year, month, day = slashed.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}" + text[slashed.end() :]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _from_rfc_2822(text: str) -> datetime | None:
    if not _RFC_2822.match(text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def format_utc(moment: datetime) -> str:
    """ "2026-11-24T13:05:00.000Z"; years are zero-padded to four digits."""
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
        f"{moment.microsecond // 1000:03d}Z"
    )


@lru_cache(maxsize=8192)
def normalize_timestamp(text: str) -> str | None:
    """Canonical UTC string, or None when ``text`` is not a usable time."""
    text = text.strip()
    if len(text) > 64:
        return None
    try:
        epoch = _EPOCH_NUMBER.match(text)
        moment = _from_epoch(text) if epoch else _from_iso(text) or _from_rfc_2822(text)
        if moment is None:
            return None
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if moment < _EPOCH:
        return None
    return format_utc(moment)
