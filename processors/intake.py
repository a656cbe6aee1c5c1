"""The ingest contract: what an upstream system may put on ``leads.raw``.

Forms and CRMs are loose about types and names (``"employees": 250``,
``"firstName"``), so intake accepts any JSON scalar for a text field and
recognises common spellings of field names. What it cannot read as a lead is
refused with a sentence that tells the sender what to fix; fields the contract
does not name are kept in ``custom`` so nothing upstream sent is lost.

Hostile input is the sender's data problem, never a stage failure: JSON that
nests too deep, numbers too long to read, and text that is not Unicode (lone
UTF-16 surrogates) are refused here with a dead-letter code and a sentence,
before anything downstream can trip over them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any, Literal, cast

from processors.errors import InvalidLead
from processors.models import RawLead

TEXT_FIELDS: tuple[str, ...] = (
    "lead_id",
    "source",
    "submitted_at",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "website",
    "country",
    "state",
    "postal_code",
    "employees",
    "industry",
)

#: Other spellings of contract fields seen in form backends and CRM exports,
#: compared after lower-casing and dropping ``_``, ``-``, ``.``, ``/`` and spaces.
FIELD_ALIASES: dict[str, str] = {
    "id": "lead_id",
    "leadid": "lead_id",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "emailaddress": "email",
    "phonenumber": "phone",
    "telephone": "phone",
    "companyname": "company",
    "organization": "company",
    "organisation": "company",
    "jobtitle": "title",
    "url": "website",
    "companywebsite": "website",
    "countrycode": "country",
    "province": "state",
    "stateprovince": "state",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "postcode": "postal_code",
    "postalcode": "postal_code",
    "numberofemployees": "employees",
    "employeecount": "employees",
    "companysize": "employees",
    "leadsource": "source",
    "createdat": "submitted_at",
    "submittedat": "submitted_at",
    "timestamp": "submitted_at",
}

MAX_TEXT_LENGTH = 10_000
MAX_CUSTOM_FIELDS = 200
#: Deepest nesting of objects and arrays a lead document may have (the lead object is
#: level 1). A form sends flat fields; this leaves room for structured custom values
#: while keeping every parser and ``json.dumps`` far from Python's recursion limit.
MAX_JSON_DEPTH = 32
#: Longest integer literal read, in digits: Python's own limit on int/str conversion.
MAX_INT_DIGITS = 4300
#: Default for the total size of the custom fields a lead carries (see :func:`capped_custom`).
DEFAULT_MAX_CUSTOM_BYTES = 16_384
_TRUE = {"true", "yes", "y", "1", "on", "opt-in", "optin", "granted"}
_FALSE = {"false", "no", "n", "0", "off", "opt-out", "optout", "denied", ""}
_KEY_NOISE = re.compile(r"[\s_\-./]+")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _canonical_field(name: str) -> str | None:
    squashed = _KEY_NOISE.sub("", name).lower()
    if squashed in FIELD_ALIASES:
        return FIELD_ALIASES[squashed]
    for field in TEXT_FIELDS:
        if squashed == field.replace("_", ""):
            return field
    return None


def _too_deep(text: str) -> bool:
    """True when objects and arrays nest deeper than MAX_JSON_DEPTH.

    A cheap scan before parsing, so a hostile document never reaches the
    recursive parser: strings are cut out (brackets inside them do not count),
    then the running depth of what is left is computed in C.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _json_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidLead(
            "schema_violation",
            f"The lead holds a number {len(literal.lstrip('-'))} digits long; numbers are read up to "
            f"{MAX_INT_DIGITS} digits. Send such a value as text, in quotes.",
        )
    return int(literal)


def _json_float(literal: str) -> float | str:
    """A float, or the literal itself when it is too large for one (``1e999``)."""
    value = float(literal)
    return value if math.isfinite(value) else literal


def parse_json(data: bytes | str) -> Any:
    """Decode one JSON lead document, or raise :class:`InvalidLead`.

    Never raises anything else, whatever the bytes: invalid UTF-8 (including
    surrogates encoded as UTF-8, bytes ED A0 80) and nesting deeper than
    MAX_JSON_DEPTH are ``undecodable``; an integer over MAX_INT_DIGITS digits is
    a ``schema_violation``. ``NaN``, ``Infinity`` and numbers too large for a
    float (``1e999``) are not JSON numbers: they are kept as the text the sender
    wrote, so no infinite or NaN float ever travels on, and a text field reads
    them as text ("NaN" counts as no value, "Infinity" is not a company size).
    """
    if isinstance(data, bytes):
        encoding = json.detect_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            raise InvalidLead(
                "undecodable",
                f"The JSON lead is not valid {encoding.upper().removesuffix('-SIG')} text "
                f"(byte {error.start}). Send the lead as UTF-8.",
            ) from None
    else:
        text = data
    if _too_deep(text):
        raise InvalidLead(
            "undecodable",
            f"The JSON document nests objects or arrays more than {MAX_JSON_DEPTH} levels deep. "
            "Send the lead as one object of fields; put structured extras under 'custom', flatter.",
        )
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=str)
    except json.JSONDecodeError as error:
        raise InvalidLead(
            "undecodable",
            f"The message is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}.",
        ) from None
    except RecursionError:  # the scan above should make this unreachable; a backstop
        raise InvalidLead(
            "undecodable", "The JSON document nests too deep to read. Send the lead as one flat object."
        ) from None
    except (ValueError, OverflowError) as error:
        raise InvalidLead("undecodable", f"The message is not valid JSON: {str(error)[:200]}.") from None


def _label(name: str) -> str:
    """A field name for an error sentence: quoted, escaped, and short (names can be hostile)."""
    return ascii(name if len(name) <= 60 else name[:60] + "…")


def _shown(value: Any) -> str:
    """A wrong value for an error sentence, cut short: values can be megabytes."""
    try:
        text = ascii(value)
    except (RecursionError, ValueError):  # nested too deep, or an integer too long to print
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:60] + "…"


def _checked_text(what: str, value: str) -> str:
    """``value`` if it can travel as UTF-8; lone surrogates cannot (Avro, Redis, UTF-8 all refuse them)."""
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    raise InvalidLead(
        "undecodable",
        f"{what} is not valid Unicode text: it holds a lone UTF-16 surrogate (an escape such as "
        "\\ud800 without its pair, often half of an emoji cut in two). Send valid UTF-8 text.",
    )


def _int_text(field: str, value: int) -> str:
    try:
        return str(value)
    except ValueError:  # beyond MAX_INT_DIGITS, in a document parse_json did not read
        raise InvalidLead(
            "schema_violation",
            f"Field {_label(field)} holds a number of more than {MAX_INT_DIGITS} digits. "
            "Send such a value as text, in quotes.",
        ) from None


def _as_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, int):
        return _int_text(field, value)
    if isinstance(value, str):
        return value
    kind = "an object" if isinstance(value, Mapping) else f"a {type(value).__name__}"
    raise InvalidLead(
        "schema_violation",
        f"Field {field!r} must be text or a number, got {kind}. "
        "Send one value per field; put anything else under 'custom'.",
    )


def _as_bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidLead(
        "schema_violation",
        f"Consent flag {_label(field)} must be true or false, got {_shown(value)}.",
    )


def _custom_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:  # a document parse_json did not read (a caller's own)
        raise InvalidLead(
            "schema_violation",
            f"A custom value nests too deep to keep; send it at most {MAX_JSON_DEPTH} levels deep.",
        ) from None
    except ValueError:  # an integer beyond MAX_INT_DIGITS, likewise
        raise InvalidLead(
            "schema_violation",
            f"A custom value holds a number of more than {MAX_INT_DIGITS} digits; send it as text.",
        ) from None


#: A sender's lead id longer than this is not carried into a dead letter.
_MAX_CARRIED_ID = 200


def given_lead_id(document: Any) -> str | None:
    """The lead id a refused record named, if it is plain text, so its dead letter names it too."""
    if not isinstance(document, Mapping):
        return None
    value = document.get("lead_id")
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_CARRIED_ID:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value.strip()


def raw_lead_from_json(document: Any) -> RawLead:
    """Read a decoded JSON document as a raw lead, or raise :class:`InvalidLead` naming its lead id."""
    try:
        return _raw_lead_from_json(document)
    except InvalidLead as error:
        error.lead_id = error.lead_id or given_lead_id(document)
        raise


def _raw_lead_from_json(document: Any) -> RawLead:
    if not isinstance(document, Mapping):
        kind = "a list" if isinstance(document, list) else type(document).__name__
        raise InvalidLead(
            "schema_violation",
            f"A lead must be a JSON object with fields such as email and company; got {kind}.",
        )
    # Not a RawLead until complete_raw_lead has filled every field.
    raw: dict[str, Any] = {"custom": {}, "consent": {}}
    custom: dict[str, str] = raw["custom"]
    for key, value in document.items():
        key = str(key)
        if key == "custom":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise InvalidLead("schema_violation", "Field 'custom' must be an object of name → value.")
            custom.update({str(k): _custom_text(v) for k, v in value.items() if v is not None})
        elif key == "consent":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise InvalidLead(
                    "schema_violation",
                    "Field 'consent' must be an object such as {\"email\": true}.",
                )
            raw["consent"] = {str(k): _as_bool(str(k), v) for k, v in value.items()}
        elif (field := _canonical_field(key)) is not None and field not in raw:
            raw[field] = _as_text(field, value)
        elif value is not None:
            custom[key] = _custom_text(value)
    return complete_raw_lead(raw)


def complete_raw_lead(raw: Mapping[str, Any]) -> RawLead:
    """Fill every contract field and refuse a lead that cannot travel or that nobody could contact."""
    try:
        return _complete_raw_lead(raw)
    except InvalidLead as error:
        error.lead_id = error.lead_id or given_lead_id(raw)
        raise


def _complete_raw_lead(raw: Mapping[str, Any]) -> RawLead:
    """Fill every contract field and refuse a lead that cannot travel or that nobody could contact.

    Every path (JSON, Avro, Confluent Avro) ends here, so the limits hold for
    all: text fields at most MAX_TEXT_LENGTH characters, at most
    MAX_CUSTOM_FIELDS custom fields, and only valid Unicode in every value and
    every custom and consent name.
    """
    complete = cast(RawLead, {field: raw.get(field) for field in TEXT_FIELDS})  # every text field
    for field in TEXT_FIELDS:
        value = raw.get(field)
        if not isinstance(value, str):
            continue
        if len(value) > MAX_TEXT_LENGTH:
            raise InvalidLead(
                "schema_violation",
                f"Field {field!r} is {len(value)} characters long; the limit is "
                f"{MAX_TEXT_LENGTH}. Send the value itself, not a document.",
            )
        _checked_text(f"Field {field!r}", value)
    complete["custom"] = dict(raw.get("custom") or {})
    complete["consent"] = dict(raw.get("consent") or {})
    if len(complete["custom"]) > MAX_CUSTOM_FIELDS:
        raise InvalidLead(
            "schema_violation",
            f"The lead has {len(complete['custom'])} extra fields; at most {MAX_CUSTOM_FIELDS} are kept.",
        )
    for name, text in complete["custom"].items():
        _checked_text(f"The name of custom field {_label(name)}", name)
        _checked_text(f"Custom field {_label(name)}", text)
    for name in complete["consent"]:
        _checked_text(f"The name of consent flag {_label(name)}", name)
    identifying: tuple[Literal["email", "phone", "first_name", "last_name", "company"], ...] = (
        "email",
        "phone",
        "first_name",
        "last_name",
        "company",
    )
    if not any((complete.get(field) or "").strip() for field in identifying):
        raise InvalidLead(
            "schema_violation",
            "The lead has no email, phone, name or company, so nobody could follow it up. "
            "Send at least one of them.",
        )
    return complete


def capped_custom(custom: Mapping[str, str], max_bytes: int) -> tuple[dict[str, str], list[str]]:
    """The custom fields that fit in ``max_bytes``, and the names of those that did not.

    Custom fields ride on every later topic and in every assignment event, so
    one 900 KB form field would be copied five times. Fields are taken in the
    sender's order and counted as the UTF-8 bytes of name and value; a field
    that does not fit is dropped whole (a cut value would be wrong data) and
    the ones after it still get their chance. The lead itself is kept.
    """
    kept: dict[str, str] = {}
    dropped: list[str] = []
    used = 0
    for name, value in custom.items():
        size = len(name.encode("utf-8")) + len(value.encode("utf-8"))
        if used + size <= max_bytes:
            kept[name] = value
            used += size
        else:
            dropped.append(name)
    return kept, dropped
