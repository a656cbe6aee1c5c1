"""The ingest contract: what an upstream system may put on ``leads.raw``.

Forms and CRMs are loose about types and names (``"employees": 250``,
``"firstName"``), so intake accepts any JSON scalar for a text field and
recognises common spellings of field names. What it cannot read as a lead is
refused with a sentence that tells the sender what to fix; fields the contract
does not name are kept in ``custom`` so nothing upstream sent is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

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
_TRUE = {"true", "yes", "y", "1", "on", "opt-in", "optin", "granted"}
_FALSE = {"false", "no", "n", "0", "off", "opt-out", "optout", "denied", ""}
_KEY_NOISE = re.compile(r"[\s_\-./]+")


def _canonical_field(name: str) -> str | None:
    squashed = _KEY_NOISE.sub("", name).lower()
    if squashed in FIELD_ALIASES:
        return FIELD_ALIASES[squashed]
    for field in TEXT_FIELDS:
        if squashed == field.replace("_", ""):
            return field
    return None


def _as_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if len(value) > MAX_TEXT_LENGTH:
            raise InvalidLead(
                "schema_violation",
                f"Field {field!r} is {len(value)} characters long; the limit is "
                f"{MAX_TEXT_LENGTH}. Send the value itself, not a document.",
            )
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
        f"Consent flag {field!r} must be true or false, got {value!r}.",
    )


def _custom_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def raw_lead_from_json(document: Any) -> RawLead:
    """Read a decoded JSON document as a raw lead, or raise :class:`InvalidLead`."""
    if not isinstance(document, Mapping):
        kind = "a list" if isinstance(document, list) else type(document).__name__
        raise InvalidLead(
            "schema_violation",
            f"A lead must be a JSON object with fields such as email and company; got {kind}.",
        )
    raw: RawLead = {"custom": {}, "consent": {}}
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
            raw[field] = _as_text(field, value)  # type: ignore[literal-required]
        elif value is not None:
            custom[key] = _custom_text(value)
    if len(custom) > MAX_CUSTOM_FIELDS:
        raise InvalidLead(
            "schema_violation",
            f"The lead has {len(custom)} extra fields; at most {MAX_CUSTOM_FIELDS} are kept.",
        )
    return complete_raw_lead(raw)


def complete_raw_lead(raw: Mapping[str, Any]) -> RawLead:
    """Fill every contract field and refuse a lead nobody could ever contact."""
    complete: RawLead = {field: raw.get(field) for field in TEXT_FIELDS}  # type: ignore[assignment]
    complete["custom"] = dict(raw.get("custom") or {})
    complete["consent"] = dict(raw.get("consent") or {})
    identifying = ("email", "phone", "first_name", "last_name", "company")
    if not any((complete.get(field) or "").strip() for field in identifying):
        raise InvalidLead(
            "schema_violation",
            "The lead has no email, phone, name or company, so nobody could follow it up. "
            "Send at least one of them.",
        )
    return complete
