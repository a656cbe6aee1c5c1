"""CSV files of CRM records → the normalized records the CRM mirror holds.

Each kind (accounts, contacts, leads, opportunities) has documented columns
(``docs/crm.md``); every column also accepts common CRM export headers
("Account Name", "Company Domain Name", "Contact owner", "Deal Stage", "Close
Date", "Record ID"...), compared without case, spaces or punctuation, so an
export loads without editing. Values go through the same
normalizers as leads, so a CRM email and a lead's email compare equal.

A row that cannot become a record (no id, an unknown country, a person with
no usable email or phone...) is rejected with its line number and a sentence;
a value that is merely unusable (a malformed website) is left out with a
warning, and the record is kept.

A cell that starts with an apostrophe followed by a formula character
(``'=…``, ``'+…``, ``'-…``, ``'@…``) loses that one apostrophe: it is how
leadroute's own exports (and spreadsheets) keep such text from running as a
formula (:mod:`streams.csv_safe`), so an exported file loads back unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from processors.crm.models import RECORD_KINDS, Account, Opportunity, Person, RecordKind
from processors.normalize.company import display_name
from processors.normalize.countries import country_code_for
from processors.normalize.emails import normalize_email
from processors.normalize.employees import parse_employees
from processors.normalize.names import normalize_name
from processors.normalize.phone import normalize_phone
from processors.normalize.text import is_null_token, present
from processors.normalize.timestamps import normalize_timestamp
from processors.normalize.website import normalize_website
from streams.csv_safe import unescaped_cell


@dataclass(frozen=True, slots=True)
class Column:
    """One logical column: the header leadroute writes first, then every header it also accepts."""

    name: str
    aliases: tuple[str, ...]
    doc: str

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


_ACCOUNT_COLUMNS = (
    Column("id", ("account id", "record id", "company id"), "the CRM's account id (required)"),
    Column("name", ("account name", "company name", "company"), "display name (required)"),
    Column(
        "domains",
        ("domain", "company domain name", "primary domain", "domain name"),
        "registrable domains, ';'-separated, the primary first",
    ),
    Column("website", ("website url", "company website", "url"), "website; adds its domain"),
    Column(
        "alternate_domains",
        ("alternate domain", "additional domains", "other domains", "secondary domains"),
        "more domains, ';'-separated, after the primary",
    ),
    Column(
        "owner_id",
        ("owner", "account owner", "account owner id", "company owner", "company owner id"),
        "owner's id, used as given",
    ),
    Column(
        "parent_id",
        ("parent account id", "parent account", "parent company id", "parent company"),
        "the parent account's id, for a subsidiary",
    ),
    Column(
        "employees",
        ("number of employees", "employee count", "headcount", "company size"),
        "a count or a range (the lower bound is kept)",
    ),
    Column("industry", ("industry type",), "industry label"),
    Column(
        "country",
        ("country code", "country/region", "billing country", "hq country"),
        "a country name or ISO code",
    ),
    Column("type", ("account type", "company type", "relationship"), "customer, prospect... (lower-cased)"),
    Column("tier", ("account tier",), "tier label"),
    Column(
        "last_activity",
        ("last activity date", "last activity time", "last activity ms", "last activity at"),
        "date, date-time or epoch; stored as ms",
    ),
)
_PERSON_COLUMNS = (
    Column(
        "id", ("contact id", "lead id", "person id", "record id"), "the CRM's contact or lead id (required)"
    ),
    Column("email", ("email address", "work email", "business email"), "email address"),
    Column(
        "phone",
        ("phone number", "business phone", "work phone", "mobile", "mobile phone", "mobile phone number"),
        "phone; national numbers need the country column",
    ),
    Column("first_name", ("given name",), "given name"),
    Column("last_name", ("surname", "family name"), "family name"),
    Column(
        "full_name",
        ("name", "contact name", "lead name"),
        "split into first and last name when those columns are empty",
    ),
    Column("company", ("company name", "account name", "organization", "organisation"), "company name"),
    Column("account_id", ("company id", "associated company id"), "the account's id"),
    Column(
        "owner_id",
        ("owner", "contact owner", "lead owner", "contact owner id", "lead owner id"),
        "owner's id, used as given",
    ),
    Column("status", ("lead status", "contact status"), "status label"),
    Column(
        "country",
        ("country/region", "country code", "mailing country"),
        "only to read national phone numbers",
    ),
)
_OPPORTUNITY_COLUMNS = (
    Column("id", ("opportunity id", "deal id", "record id"), "the CRM's opportunity id (required)"),
    Column(
        "account_id",
        ("company id", "associated company id"),
        "the account's id (required)",
    ),
    Column("owner_id", ("owner", "opportunity owner", "deal owner"), "owner's id, used as given"),
    Column("stage", ("deal stage", "opportunity stage", "stage name"), "stage label"),
    Column("amount", ("deal amount", "opportunity amount", "value"), "a number; currency signs are ignored"),
    Column("is_open", ("open",), "true/false; derived from the stage when absent"),
    Column("is_closed", ("closed",), "true/false, the opposite of is_open"),
    Column("close_date", ("expected close date",), "a date; stored as YYYY-MM-DD"),
)

#: In any file: true publishes a tombstone for the row's id (the rest of the row is not read).
DELETED = Column("deleted", ("is deleted",), "true deletes the record (a tombstone)")

#: The columns of each kind; the first header of each is what ``write_csv`` writes.
COLUMNS: dict[RecordKind, tuple[Column, ...]] = {
    "account": (*_ACCOUNT_COLUMNS, DELETED),
    "contact": (*_PERSON_COLUMNS, DELETED),
    "lead": (*_PERSON_COLUMNS, DELETED),
    "opportunity": (*_OPPORTUNITY_COLUMNS, DELETED),
}
_REQUIRED: dict[RecordKind, tuple[str, ...]] = {
    "account": ("id", "name"),
    "contact": ("id",),
    "lead": ("id",),
    "opportunity": ("id", "account_id"),
}
#: What a file of each kind is called in messages and in ``generate``'s output.
FILE_NAMES: dict[RecordKind, str] = {
    "account": "accounts.csv",
    "contact": "contacts.csv",
    "lead": "leads.csv",
    "opportunity": "opportunities.csv",
}
_LIST_SEPARATORS = re.compile(r"[;,|\s]+")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "open"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "closed"})
#: Stage labels that mean the deal is over, when the file has no is_open column.
_CLOSED_STAGES = frozenset({"won", "lost", "closed", "closedwon", "closedlost", "dead", "cancelled"})
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_AMOUNT_NOISE = re.compile(r"[^\d.,\-]")


def header_key(header: str) -> str:
    """How headers are compared: case, spaces and punctuation ignored ("Account_Name" = "account name")."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


class CsvFormatError(ValueError):
    """The file cannot be read as that kind at all (not a header we know for a required column)."""


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: the record, the id it deletes, or why neither; and what was left out of it."""

    line: int
    record: Any | None
    rejection: str | None = None
    warnings: tuple[str, ...] = ()
    deleted_id: str | None = None


class _Row:
    """Cells of one row by logical column, first non-empty header wins."""

    __slots__ = ("cells", "mapping")

    def __init__(self, mapping: dict[str, list[int]], cells: list[str]) -> None:
        self.mapping = mapping
        self.cells = cells

    def get(self, name: str) -> str | None:
        """The value, with the apostrophe our own CSV writer puts before a formula taken off."""
        for index in self.mapping.get(name, ()):
            if index < len(self.cells):
                value = present(unescaped_cell(self.cells[index]))
                if value is not None:
                    return value
        return None


class _Rejected(Exception):
    """Raised inside a row's parser; becomes the row's rejection sentence."""


@dataclass
class CrmCsvReader:
    """Reads one CSV file of ``kind``; the header is checked when the reader is made."""

    kind: RecordKind
    path: Path
    headers: list[str] = field(default_factory=list)
    #: Logical column → indexes of the headers that fill it, most specific first.
    mapping: dict[str, list[int]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in RECORD_KINDS:
            raise ValueError(f"unknown CRM record kind {self.kind!r}")
        self.path = Path(self.path)
        not_utf8: set[int] = set()
        with self.path.open("rb") as handle:
            self.headers = next(csv.reader(_decoded_lines(handle, not_utf8)), [])
        if not_utf8:
            raise CsvFormatError(f"{self.path.name} is not UTF-8 text; save it as UTF-8 CSV.")
        if not any(h.strip() for h in self.headers):
            raise CsvFormatError(f"{self.path.name} has no header row; the first line must name the columns.")
        self.mapping, self.ignored = resolve_columns(self.kind, self.headers)
        # A file of deletes only needs ids; its other rows are still checked one by one.
        required = ("id",) if "deleted" in self.mapping else _REQUIRED[self.kind]
        missing = [name for name in required if name not in self.mapping]
        if missing:
            wanted = "; ".join(
                f"{name} (or {', '.join(repr(h) for h in _column(self.kind, name).aliases)})"
                for name in missing
            )
            raise CsvFormatError(
                f"{self.path.name} has no column for {wanted}: {FILE_NAMES[self.kind]} files need it. "
                f"Its header is: {', '.join(self.headers)}."
            )

    def __iter__(self) -> Iterator[RowResult]:
        parse = _PARSERS[self.kind]
        width = len(self.headers)
        not_utf8: set[int] = set()
        with self.path.open("rb") as handle:
            reader = csv.reader(_decoded_lines(handle, not_utf8))
            try:
                next(reader, None)
                yield from self._rows(reader, parse, width, not_utf8)
            except csv.Error as error:
                yield RowResult(
                    reader.line_num,
                    None,
                    f"The file is not CSV from here on ({error}); the rows after line "
                    f"{reader.line_num - 1} were not loaded.",
                )

    def _rows(self, reader: Any, parse: Any, width: int, not_utf8: set[int]) -> Iterator[RowResult]:
        for cells in reader:
            line = reader.line_num
            if line in not_utf8:
                yield RowResult(line, None, "The line is not UTF-8 text; save the file as UTF-8 CSV.")
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                yield RowResult(
                    line,
                    None,
                    f"The row has {len(cells)} cells; the header has {width}. Quote values "
                    "that contain commas.",
                )
                continue
            row = _Row(self.mapping, cells)
            warnings: list[str] = []
            try:
                if _is_deleted(row):
                    yield RowResult(line, None, deleted_id=_require_id(self.kind, row))
                    continue
                record = parse(self.kind, row, warnings)
            except _Rejected as rejection:
                yield RowResult(line, None, str(rejection), tuple(warnings))
                continue
            yield RowResult(line, record, None, tuple(warnings))


def _decoded_lines(handle: IO[bytes], not_utf8: set[int]) -> Iterator[str]:
    """Lines as text, one at a time, so a stray Latin-1 byte costs its own row and no other."""
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            not_utf8.add(number)
            yield "\n"


def _column(kind: RecordKind, name: str) -> Column:
    return next(column for column in COLUMNS[kind] if column.name == name)


def resolve_columns(kind: RecordKind, headers: list[str]) -> tuple[dict[str, list[int]], list[str]]:
    """(logical column → header indexes, headers nobody reads) for a file of ``kind``."""
    by_key: dict[str, tuple[str, int]] = {}
    for column in COLUMNS[kind]:
        for rank, header in enumerate(column.headers):
            by_key.setdefault(header_key(header), (column.name, rank))
    found: dict[str, list[tuple[int, int]]] = {}
    ignored = []
    for index, header in enumerate(headers):
        hit = by_key.get(header_key(header))
        if hit is None:
            if header.strip():
                ignored.append(header)
            continue
        found.setdefault(hit[0], []).append((hit[1], index))
    return {name: [index for _, index in sorted(hits)] for name, hits in found.items()}, ignored


# -- values ------------------------------------------------------------------


def _domains(text: str | None, what: str, warnings: list[str]) -> list[str]:
    found: list[str] = []
    for part in _LIST_SEPARATORS.split(text or ""):
        if not part:
            continue
        parsed = normalize_website(part)
        if parsed is None:
            warnings.append(f"{what} {part!r} is not a domain; it was left out.")
        else:
            found.append(parsed.domain)
    return found


def _country(text: str | None) -> str | None:
    if text is None:
        return None
    code = country_code_for(text)
    if code is None:
        raise _Rejected(f"The country {text!r} is not one leadroute knows; use a country name or ISO code.")
    return code


def parse_date(text: str) -> tuple[date | None, str | None]:
    """(date, None) or (None, why): ISO dates and times, D.M.Y, and D/M/Y or M/D/Y when unambiguous."""
    canonical = normalize_timestamp(text)
    if canonical is not None:
        return date.fromisoformat(canonical[:10]), None
    dotted = _DOTTED_DATE.match(text)
    slashed = _SLASHED_DATE.match(text)
    if dotted:
        day, month, year = (int(part) for part in dotted.groups())
    elif slashed:
        first, second, year = (int(part) for part in slashed.groups())
        if first > 12 >= second:
            day, month = first, second
        elif second > 12 >= first or first == second:
            day, month = second, first
        else:
            return None, f"{text!r} could be day/month or month/day; write dates as YYYY-MM-DD."
    else:
        return None, f"{text!r} is not a date; write dates as YYYY-MM-DD."
    try:
        return date(year, month, day), None
    except ValueError:
        return None, f"{text!r} is not a date on the calendar."


def parse_moment_ms(text: str) -> tuple[int | None, str | None]:
    """(milliseconds since the epoch, None) or (None, why); a date alone is its midnight UTC."""
    canonical = normalize_timestamp(text)
    if canonical is not None:
        moment = datetime.fromisoformat(canonical.replace("Z", "+00:00"))
        return int(moment.timestamp() * 1000), None
    day, why = parse_date(text)
    if day is None:
        return None, why
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000), None


def parse_amount(text: str) -> float | None:
    """12500, "$12,500.00", "12.500,00 €", "EUR 1 200".

    The decimal separator is the last "." or "," when one or two digits follow it.
    """
    cleaned = _AMOUNT_NOISE.sub("", text)
    if not cleaned or cleaned in "-.,":
        return None
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if last >= 0 and 0 < len(cleaned) - last - 1 <= 2:
        whole, fraction = cleaned[:last], cleaned[last + 1 :]
    else:
        whole, fraction = cleaned, ""
    whole = whole.replace(".", "").replace(",", "")
    try:
        return float(f"{whole or '0'}.{fraction or '0'}")
    except ValueError:
        return None


def parse_flag(text: str) -> bool | None:
    folded = text.casefold().strip()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return None


def stage_is_closed(stage: str) -> bool:
    """ "Closed Won", "closed-lost", "Won", "Lost": the deal is over; any other stage is open."""
    key = header_key(stage)
    return key in _CLOSED_STAGES or key.startswith("closed")


def _company(text: str | None) -> str | None:
    """The display name ``normalize_company`` gives, without its match key (half the cost)."""
    if text is None:
        return None
    name = display_name(text)
    return None if not name or is_null_token(name) else name


def _name(text: str | None) -> str | None:
    return normalize_name(text) if text is not None else None


def _split_full_name(text: str) -> tuple[str | None, str | None]:
    if "," in text:
        last, _, first = text.partition(",")
        return _name(present(first)), _name(present(last))
    parts = text.split(" ")
    if len(parts) == 1:
        return None, _name(parts[0])
    return _name(parts[0]), _name(" ".join(parts[1:]))


# -- rows ----------------------------------------------------------------------


def _is_deleted(row: _Row) -> bool:
    text = row.get("deleted")
    if text is None:
        return False
    flag = parse_flag(text)
    if flag is None:
        raise _Rejected(f"deleted is {text!r}; write true or false.")
    return flag


def _require_id(kind: RecordKind, row: _Row) -> str:
    record_id = row.get("id")
    if record_id is None:
        raise _Rejected(f"The row has no {kind} id; every record needs the CRM's id (column 'id').")
    return record_id


def parse_account(kind: RecordKind, row: _Row, warnings: list[str]) -> Account:
    record_id = _require_id(kind, row)
    name = _company(row.get("name"))
    if name is None:
        raise _Rejected(f"The account {record_id!r} has no name; every account needs one (column 'name').")
    country = _country(row.get("country"))
    domains = _domains(row.get("domains"), "The domain", warnings)
    website_text = row.get("website")
    website = normalize_website(website_text) if website_text else None
    if website_text and website is None:
        warnings.append(f"The website {website_text!r} names no public host; it was left out.")
    if website is not None:
        domains.append(website.domain)
    domains.extend(_domains(row.get("alternate_domains"), "The alternate domain", warnings))
    employees_text = row.get("employees")
    size = parse_employees(employees_text) if employees_text else None
    if employees_text and size is None:
        warnings.append(f"The employee count {employees_text!r} is not a number or range; it was left out.")
    activity_text = row.get("last_activity")
    activity_ms = None
    if activity_text:
        activity_ms, why = parse_moment_ms(activity_text)
        if why:
            warnings.append(f"Last activity: {why} It was left out.")
    account_type = row.get("type")
    return Account(
        id=record_id,
        name=name,
        domains=list(dict.fromkeys(domains)),
        website=website.host if website else None,
        owner_id=row.get("owner_id"),
        parent_id=row.get("parent_id"),
        employees=size[0] if size else None,
        industry=row.get("industry"),
        country_code=country,
        type=account_type.lower() if account_type else None,
        tier=row.get("tier"),
        last_activity_ms=activity_ms,
    )


def parse_person(kind: RecordKind, row: _Row, warnings: list[str]) -> Person:
    record_id = _require_id(kind, row)
    country_text = row.get("country")
    region = country_code_for(country_text) if country_text else None
    if country_text and region is None:
        warnings.append(f"The country {country_text!r} is not one leadroute knows; phones need a '+'.")
    email_text, phone_text = row.get("email"), row.get("phone")
    email = normalize_email(email_text) if email_text else None
    phone = normalize_phone(phone_text, region) if phone_text else None
    first, last = _name(row.get("first_name")), _name(row.get("last_name"))
    full = row.get("full_name")
    if first is None and last is None and full:
        first, last = _split_full_name(full)
    email_problem = f"email {email_text!r} is not a valid address" if email_text and not email else None
    hint = "" if region or (phone_text or "").lstrip().startswith(("+", "00")) else " (no country to read it)"
    phone_problem = f"phone {phone_text!r} is not a valid number{hint}" if phone_text and not phone else None
    if email is None and phone is None:
        if email_problem and phone_problem:
            raise _Rejected(f"The {email_problem} and the {phone_problem}: nothing to match the {kind} by.")
        if email_problem:
            raise _Rejected(f"The {email_problem} and the row has no phone to match the {kind} by.")
        if phone_problem:
            raise _Rejected(f"The row has no email and the {phone_problem}: nothing to match the {kind} by.")
        if first is None and last is None:
            raise _Rejected(f"The {kind} {record_id!r} has no email, phone or name: nothing to match it by.")
    for problem in (email_problem, phone_problem):
        if problem:
            warnings.append(f"The {problem}; it was left out.")
    return Person(
        id=record_id,
        kind=kind,  # type: ignore[typeddict-item]
        email=email.email if email else None,
        phone=phone.e164 if phone else None,
        first_name=first,
        last_name=last,
        company=_company(row.get("company")),
        account_id=row.get("account_id"),
        owner_id=row.get("owner_id"),
        status=row.get("status"),
    )


def parse_opportunity(kind: RecordKind, row: _Row, warnings: list[str]) -> Opportunity:
    record_id = _require_id(kind, row)
    account_id = row.get("account_id")
    if account_id is None:
        raise _Rejected(
            f"The opportunity {record_id!r} has no account id; an opportunity only counts on its account."
        )
    stage = row.get("stage")
    is_open: bool | None = None
    for column, invert in (("is_open", False), ("is_closed", True)):
        text = row.get(column)
        if text is None:
            continue
        flag = parse_flag(text)
        if flag is None:
            raise _Rejected(f"{column} is {text!r}; write true or false.")
        is_open = flag != invert
        break
    if is_open is None:
        if stage is None:
            raise _Rejected(
                f"The opportunity {record_id!r} has neither is_open nor a stage, so whether it is open "
                "is unknown."
            )
        is_open = not stage_is_closed(stage)
    amount_text = row.get("amount")
    amount = parse_amount(amount_text) if amount_text else None
    if amount_text and amount is None:
        warnings.append(f"The amount {amount_text!r} is not a number; it was left out.")
    close_text = row.get("close_date")
    close_date = None
    if close_text:
        day, why = parse_date(close_text)
        if day is None:
            warnings.append(f"Close date: {why} It was left out.")
        else:
            close_date = day.isoformat()
    return Opportunity(
        id=record_id,
        account_id=account_id,
        owner_id=row.get("owner_id"),
        stage=stage,
        amount=amount,
        is_open=is_open,
        close_date=close_date,
    )


_PARSERS: dict[RecordKind, Any] = {
    "account": parse_account,
    "contact": parse_person,
    "lead": parse_person,
    "opportunity": parse_opportunity,
}


# -- writing -----------------------------------------------------------------

_PERSON_WRITTEN = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "account_id",
    "owner_id",
    "status",
)
#: The header ``write_csv`` writes for each kind (the documented names).
WRITTEN_COLUMNS: dict[RecordKind, tuple[str, ...]] = {
    "account": (
        "id",
        "name",
        "domains",
        "website",
        "owner_id",
        "parent_id",
        "employees",
        "industry",
        "country",
        "type",
        "tier",
        "last_activity",
    ),
    "contact": _PERSON_WRITTEN,
    "lead": _PERSON_WRITTEN,
    "opportunity": ("id", "account_id", "owner_id", "stage", "amount", "is_open", "close_date"),
}


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def csv_row(kind: RecordKind, record: Any) -> list[str]:
    """The cells ``write_csv`` writes for ``record``; reading them back gives the same record."""
    if kind == "account":
        return [
            record["id"],
            record["name"],
            ";".join(record["domains"]),
            record["website"] or "",
            record["owner_id"] or "",
            record["parent_id"] or "",
            "" if record["employees"] is None else str(record["employees"]),
            record["industry"] or "",
            record["country_code"] or "",
            record["type"] or "",
            record["tier"] or "",
            "" if record["last_activity_ms"] is None else _iso_ms(record["last_activity_ms"]),
        ]
    if kind == "opportunity":
        return [
            record["id"],
            record["account_id"],
            record["owner_id"] or "",
            record["stage"] or "",
            "" if record["amount"] is None else f"{record['amount']:.2f}",
            "true" if record["is_open"] else "false",
            record["close_date"] or "",
        ]
    return [record[name] or "" for name in WRITTEN_COLUMNS[kind]]
