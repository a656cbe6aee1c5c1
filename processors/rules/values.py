"""How a rule's value is compared with a lead's: case, numbers in text, dates.

RevOps people write ``equals: Enterprise`` and mean ``enterprise``; CRM exports and
``raw.custom`` carry numbers and booleans as text. So text compares without case
(``str.casefold``), and text that reads as a number or a boolean also matches a
number or boolean in the rule (and the other way round). Nothing else is coerced.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: A canonical comparable: ("s", folded text) | ("n", float) | ("b", bool).
Canon = tuple[str, Any]


def as_number(value: Any) -> float | None:
    """The value as a number: ints and floats, and text that is a plain decimal number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in {"true", "false"}:
            return folded == "true"
    return None


def canon(value: Any) -> Canon:
    """The comparable form of a scalar from the rule file (or the lead)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    return ("s", str(value).casefold())


def canon_set(values: list[Any]) -> frozenset[Canon]:
    """Every form a rule's values can match in: text that reads as a number matches numbers too."""
    found: set[Canon] = set()
    for value in values:
        found.add(canon(value))
        if isinstance(value, str):
            number = as_number(value)
            if number is not None:
                found.add(("n", number))
            flag = as_bool(value)
            if flag is not None:
                found.add(("b", flag))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found.add(("s", _number_text(value)))
    return frozenset(found)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def member(value: Any, wanted: frozenset[Canon], has_numbers: bool, has_bools: bool) -> bool:
    """Whether one scalar from the lead is among ``wanted`` (see :func:`canon_set`)."""
    if isinstance(value, str):
        if ("s", value.casefold()) in wanted:
            return True
        if has_numbers:
            number = as_number(value)
            if number is not None and ("n", number) in wanted:
                return True
        if has_bools:
            flag = as_bool(value)
            return flag is not None and ("b", flag) in wanted
        return False
    if isinstance(value, bool):
        return ("b", value) in wanted
    if isinstance(value, int | float):
        return ("n", float(value)) in wanted
    return False


def as_text(value: Any) -> str | None:
    """Text of a scalar for substring, prefix and regex tests (numbers as written)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _number_text(value)


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set | frozenset):
        return not value
    return False


def parse_bound(value: Any) -> float | dt.date | dt.datetime | None:
    """A range bound from the rule file: a number, an ISO date or an ISO datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return None
        if _ISO_DATE.match(text):
            try:
                return _utc(dt.datetime.fromisoformat(text))
            except ValueError:
                return None
    return None


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def as_datetime(value: Any) -> dt.datetime | None:
    """A lead value as a UTC moment: ISO text (date or datetime) or epoch milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            return None
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return _utc(dt.datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def show(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a value for traces and messages."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show(item, limit) for item in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{key}: {show(item, limit)}" for key, item in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
