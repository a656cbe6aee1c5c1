"""CRM CSV files → mirror records, and the synthetic CRM that writes them."""

from __future__ import annotations

import collections
import statistics
from pathlib import Path
from typing import Any

import pytest

from processors.crm.models import RECORD_KINDS
from processors.normalize.emails import normalize_email
from processors.normalize.website import normalize_website
from streams.crm.csv_records import (
    COLUMNS,
    CrmCsvReader,
    CsvFormatError,
    RowResult,
    header_key,
    parse_amount,
    parse_date,
    parse_moment_ms,
    resolve_columns,
    stage_is_closed,
)
from streams.crm.synthetic import FREE_MAIL, OWNERS, generate_crm, write_csv
from streams.demo.synthetic import companies
from streams.events import crm as crm_events
from tests.support.paths import REPO


def _read(tmp_path: Path, kind: Any, text: str) -> list[RowResult]:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return list(CrmCsvReader(kind, path))


def _records(rows: list[RowResult]) -> list[Any]:
    return [row.record for row in rows if row.record is not None]


# -- columns ------------------------------------------------------------------


def test_common_crm_export_headers_map_to_the_documented_columns() -> None:
    accounts, ignored = resolve_columns(
        "account",
        [
            "Record ID",
            "Account Name",
            "Website",
            "Account Owner",
            "Parent Account",
            "Billing Country",
            "Notes",
        ],
    )
    assert accounts == {
        "id": [0],
        "name": [1],
        "website": [2],
        "owner_id": [3],
        "parent_id": [4],
        "country": [5],
    }
    assert ignored == ["Notes"]
    people, _ = resolve_columns("contact", ["Email Address", "Contact owner", "Company name", "First Name"])
    assert people == {"email": [0], "owner_id": [1], "company": [2], "first_name": [3]}
    deals, _ = resolve_columns(
        "opportunity", ["Deal Stage", "Amount", "Close Date", "Company ID", "Record ID"]
    )
    assert deals == {"stage": [0], "amount": [1], "close_date": [2], "account_id": [3], "id": [4]}
    domains, _ = resolve_columns("account", ["Company name", "Company Domain Name"])
    assert domains == {"name": [0], "domains": [1]}


def test_headers_are_compared_without_case_spaces_or_punctuation() -> None:
    mapping, ignored = resolve_columns(
        "account", ["ACCOUNT_NAME", " account name ", "Account-ID", "last_activity"]
    )
    assert mapping == {"name": [0, 1], "id": [2], "last_activity": [3]}
    assert ignored == []


def test_the_documented_column_wins_over_an_alias_when_both_are_filled(tmp_path: Path) -> None:
    rows = _read(tmp_path, "account", "Account Name,name,id\nFrom Export,Documented,a1\nOnly Export,,a2\n")
    assert [r["name"] for r in _records(rows)] == ["Documented", "Only Export"]


def test_every_kind_documents_its_columns_and_no_header_means_two_things() -> None:
    for kind in RECORD_KINDS:
        names = [column.name for column in COLUMNS[kind]]
        assert names[0] == "id" and len(names) == len(set(names))
        assert all(column.doc for column in COLUMNS[kind])
        keys = [header_key(header) for column in COLUMNS[kind] for header in column.headers]
        assert len(keys) == len(set(keys)), kind
    documented = (REPO / "docs" / "crm.md").read_text(encoding="utf-8")
    for kind in RECORD_KINDS:
        assert all(f"`{column.name}`" in documented for column in COLUMNS[kind])
        assert all(alias in documented for column in COLUMNS[kind] for alias in column.aliases)


def test_a_file_without_a_required_column_is_refused_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("Account Name,Website\nAcme,acme.com\n", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="no column for id"):
        CrmCsvReader("account", path)
    path.write_text("id,stage\no1,Proposal\n", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="account_id"):
        CrmCsvReader("opportunity", path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="no header row"):
        CrmCsvReader("contact", path)


# -- accounts -------------------------------------------------------------------


def test_accounts_are_normalized(tmp_path: Path) -> None:
    text = (
        "Record ID,Account Name,Website,Domains,Alternate Domains,Account Owner,Parent Account,"
        "Employees,Industry,Billing Country,Type,Tier,Last Activity Date\n"
        'A1,  acme holdings ltd ,https://WWW.Acme.co.uk/about,,"acme.com; ACME.de",owner-01,A0,'
        '"1,000+",Software,United Kingdom,Customer,Enterprise,2025-06-01\n'
        "A2,Beta GmbH,,beta.de|beta.at,,,,51-200,,Deutschland,,,2025-06-01T10:00:00+02:00\n"
    )
    first, second = _records(_read(tmp_path, "account", text))
    assert first == {
        "id": "A1",
        "name": "Acme Holdings Ltd",
        "domains": ["acme.co.uk", "acme.com", "acme.de"],
        "website": "www.acme.co.uk",
        "owner_id": "owner-01",
        "parent_id": "A0",
        "employees": 1000,
        "industry": "Software",
        "country_code": "GB",
        "type": "customer",
        "tier": "Enterprise",
        "last_activity_ms": 1_748_736_000_000,
    }
    assert second["domains"] == ["beta.de", "beta.at"]
    assert second["employees"] == 51
    assert second["country_code"] == "DE"
    assert second["last_activity_ms"] == 1_748_764_800_000
    assert second["website"] is None


def test_unusable_values_are_left_out_with_a_warning_and_the_account_kept(tmp_path: Path) -> None:
    text = "id,name,website,domains,employees,last_activity\nA1,Acme,not a site,acme,lots,03/04/2025\n"
    (row,) = _read(tmp_path, "account", text)
    assert row.record is not None
    assert row.record["domains"] == [] and row.record["website"] is None
    assert row.record["employees"] is None and row.record["last_activity_ms"] is None
    assert len(row.warnings) == 4
    assert any("day/month or month/day" in warning for warning in row.warnings)


def test_rejected_account_rows_carry_their_line_number_and_the_rest_load(tmp_path: Path) -> None:
    text = (
        "id,name,country\n"
        "A1,Acme,GB\n"
        ",No Id Ltd,GB\n"
        "A3,Atlantis Trading,Atlantis\n"
        "\n"
        "A4,,US\n"
        "A5,Extra Cells,US,oops\n"
        "A6,Fine Inc.,usa\n"
    )
    rows = _read(tmp_path, "account", text)
    assert [r["id"] for r in _records(rows)] == ["A1", "A6"]
    rejected = {row.line: row.rejection for row in rows if row.rejection}
    assert list(rejected) == [3, 4, 6, 7]
    assert "no account id" in rejected[3]
    assert "'Atlantis' is not one leadroute knows" in rejected[4]
    assert "has no name" in rejected[6]
    assert "4 cells; the header has 3" in rejected[7]
    assert all(reason.endswith(".") for reason in rejected.values())


def test_a_line_that_is_not_utf8_costs_only_that_row(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(
        b'\xef\xbb\xbfid,name\r\nA1,Acme\r\nA2,M\xfcller GmbH\r\nA3,"Two\r\nLines Ltd"\r\nA4,Beta\r\n'
    )
    rows = list(CrmCsvReader("account", path))
    assert [(row.line, row.record["name"] if row.record else row.rejection) for row in rows] == [
        (2, "Acme"),
        (3, "The line is not UTF-8 text; save the file as UTF-8 CSV."),
        (5, "Two Lines Ltd"),
        (6, "Beta"),
    ]
    path.write_bytes(b"id,n\xe4me\nA1,x\n")
    with pytest.raises(CsvFormatError, match="not UTF-8"):
        CrmCsvReader("account", path)


# -- contacts and leads ---------------------------------------------------------


def test_people_are_normalized_and_their_kind_is_the_file_kind(tmp_path: Path) -> None:
    text = (
        "Contact ID,Email Address,Phone Number,First Name,Last Name,Company name,Account ID,Contact owner,"
        "Lead Status,Country\n"
        'C1,"  Jane.Doe@ACME.com ",020 7946 0958,JANE,doe,acme ltd,A1,owner-02,Working,UK\n'
        "C2,,+49 30 901820,,,,,,,\n"
    )
    jane, phone_only = _records(_read(tmp_path, "lead", text))
    assert jane == {
        "id": "C1",
        "kind": "lead",
        "email": "jane.doe@acme.com",
        "phone": "+442079460958",
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "Acme Ltd",
        "account_id": "A1",
        "owner_id": "owner-02",
        "status": "Working",
    }
    assert phone_only["phone"] == "+4930901820" and phone_only["kind"] == "lead"


def test_a_full_name_fills_first_and_last_name_when_they_are_empty(tmp_path: Path) -> None:
    text = 'id,Full Name,email\nc1,Jane van Doe,a@b.io\nc2,"Doe, Jane",c@d.io\nc3,Cher,e@f.io\n'
    names = [(r["first_name"], r["last_name"]) for r in _records(_read(tmp_path, "contact", text))]
    assert names == [("Jane", "van Doe"), ("Jane", "Doe"), (None, "Cher")]


def test_a_person_needs_a_usable_email_or_phone(tmp_path: Path) -> None:
    text = (
        "id,email,phone,first_name,last_name,country\n"
        "c1,not-an-email,,Ann,Lee,\n"  # bad email, no phone: rejected
        "c2,not-an-email,+44 20 7946 0958,Ann,Lee,\n"  # bad email, good phone: kept, warned
        "c3,,020 7946 0958,Ann,Lee,\n"  # national phone without a country: rejected
        "c4,ann@lee.io,12,Ann,Lee,GB\n"  # bad phone, good email: kept, warned
        "c5,,,,,\n"  # nothing to match by
        "c6,,,Ann,Lee,\n"  # a name alone is a person the CRM knows
        "c7,@@,,,,Atlantis\n"
    )
    rows = _read(tmp_path, "contact", text)
    assert [r["id"] for r in _records(rows)] == ["c2", "c4", "c6"]
    rejected = {row.line: row.rejection or "" for row in rows if row.rejection}
    assert list(rejected) == [2, 4, 6, 8]
    assert "'not-an-email' is not a valid address and the row has no phone" in rejected[2]
    assert "no country to read it" in rejected[4]
    assert "no email, phone or name" in rejected[6]
    assert "'@@' is not a valid address" in rejected[8]
    warned = {row.record["id"]: row.warnings for row in rows if row.record}
    assert "left out" in warned["c2"][0] and "left out" in warned["c4"][0]


# -- opportunities ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "closed"),
    [
        ("Closed Won", True),
        ("closed-lost", True),
        ("CLOSED", True),
        ("Won", True),
        ("Lost", True),
        ("Proposal", False),
        ("Negotiation/Review", False),
        ("Closing", False),
    ],
)
def test_whether_a_deal_is_open_follows_from_its_stage(stage: str, closed: bool) -> None:
    assert stage_is_closed(stage) is closed


def test_opportunities_take_is_open_from_a_column_or_from_the_stage(tmp_path: Path) -> None:
    text = (
        "Deal ID,Company ID,Deal owner,Deal Stage,Amount,Close Date,Is Closed\n"
        'O1,A1,owner-01,Closed Won,"$12,500.00",2025-06-30,\n'
        'O2,A1,,Proposal,"12.500,5 €",30/06/2025,\n'
        "O3,A1,,Proposal,,,true\n"
        "O4,,,Proposal,1,,\n"
        "O5,A1,,,,,\n"
        "O6,A1,,Proposal,,,maybe\n"
    )
    rows = _read(tmp_path, "opportunity", text)
    o1, o2, o3 = _records(rows)
    assert o1 == {
        "id": "O1",
        "account_id": "A1",
        "owner_id": "owner-01",
        "stage": "Closed Won",
        "amount": 12500.0,
        "is_open": False,
        "close_date": "2025-06-30",
    }
    assert (o2["is_open"], o2["amount"], o2["close_date"]) == (True, 12500.5, "2025-06-30")
    assert o3["is_open"] is False  # the flag wins over the stage
    rejected = {row.line: row.rejection or "" for row in rows if row.rejection}
    assert list(rejected) == [5, 6, 7]
    assert "no account id" in rejected[5]
    assert "neither is_open nor a stage" in rejected[6]
    assert "'maybe'" in rejected[7]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12500", 12500.0),
        ("$12,500.00", 12500.0),
        ("12.500,00 €", 12500.0),
        ("EUR 1 200", 1200.0),
        ("1,234", 1234.0),
        ("0.5", 0.5),
        ("-", None),
        ("n/a", None),
    ],
)
def test_amounts(text: str, expected: float | None) -> None:
    assert parse_amount(text) == expected


def test_dates_and_times() -> None:
    assert parse_date("2025-06-30")[0] is not None
    assert str(parse_date("30.06.2025")[0]) == "2025-06-30"
    assert str(parse_date("6/30/2025")[0]) == "2025-06-30"
    assert str(parse_date("30/6/2025")[0]) == "2025-06-30"
    assert str(parse_date("2025-06-30 14:00")[0]) == "2025-06-30"
    assert parse_date("3/4/2025")[0] is None and "YYYY-MM-DD" in (parse_date("3/4/2025")[1] or "")
    assert parse_date("31/02/2025")[0] is None
    assert parse_moment_ms("1748736000000") == (1_748_736_000_000, None)
    assert parse_moment_ms("2025-06-01") == (1_748_736_000_000, None)
    assert parse_moment_ms("yesterday")[0] is None


def test_a_deleted_row_names_the_id_to_tombstone(tmp_path: Path) -> None:
    rows = _read(tmp_path, "account", "id,name,Is Deleted\nA1,Acme,false\nA2,,true\n,,true\nA4,X,perhaps\n")
    assert [(row.line, row.record is not None, row.deleted_id) for row in rows[:2]] == [
        (2, True, None),
        (3, False, "A2"),
    ]
    assert "no account id" in (rows[2].rejection or "")
    assert "'perhaps'" in (rows[3].rejection or "")


# -- the synthetic CRM ------------------------------------------------------------


@pytest.fixture(scope="module")
def crm() -> list[tuple[str, Any]]:
    return list(generate_crm(3_000, seed=11))


def _by_kind(records: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = collections.defaultdict(list)
    for kind, record in records:
        grouped[kind].append(record)
    return grouped


def test_the_generator_is_deterministic_for_a_seed(crm: list[tuple[str, Any]]) -> None:
    assert list(generate_crm(3_000, seed=11)) == crm
    assert list(generate_crm(300, seed=12))[:50] != crm[:50]


def test_every_demo_company_is_an_account_with_the_same_name_and_domain(crm: list[tuple[str, Any]]) -> None:
    accounts = _by_kind(crm)["account"]
    assert len(accounts) == 3_000
    by_domain = {domain: account for account in accounts for domain in account["domains"]}
    for company in companies():
        parsed = normalize_website(company.domain)
        if parsed is None or parsed.domain != company.domain:
            continue  # a public suffix such as "de.com" names no company
        account = by_domain[company.domain]
        assert account["name"].casefold() == company.name.casefold()
        assert account["country_code"] == company.hq_country_code


def test_the_crm_is_as_messy_as_a_real_one(crm: list[tuple[str, Any]]) -> None:
    grouped = _by_kind(crm)
    accounts = {a["id"]: a for a in grouped["account"]}
    children = [a for a in accounts.values() if a["parent_id"]]
    assert len(children) > 30
    for child in children:
        parent = accounts[child["parent_id"]]
        assert child["domains"][0] not in parent["domains"]
        assert child["name"].split(" ")[0] == parent["name"].split(" ")[0].strip(",")
    assert len({child["country_code"] for child in children}) > 8

    with_alternates = [a for a in accounts.values() if len(a["domains"]) > 1]
    assert len(with_alternates) > 100
    labels = [{d.split(".")[0].removeprefix("get") for d in a["domains"]} for a in with_alternates]
    assert sum(1 for found in labels if len(found) == 1) > 30, "acme.com with acme.co.uk"

    first_words = collections.defaultdict(list)
    for account in accounts.values():
        if not account["parent_id"]:
            first_words[account["name"].split(" ")[0]].append(account)
    look_alikes = [group for group in first_words.values() if len(group) > 1]
    assert len(look_alikes) > 20
    assert all(
        len({a["domains"][0] if a["domains"] else a["id"] for a in group}) == len(group)
        for group in look_alikes
    )

    per_account = collections.Counter(c["account_id"] for c in grouped["contact"])
    counts = [per_account.get(account_id, 0) for account_id in accounts]
    assert statistics.median(counts) <= 3 and max(counts) >= 60
    free = [c for c in grouped["contact"] if c["email"] and c["email"].split("@")[1] in FREE_MAIL]
    assert 0.03 < len(free) / len(grouped["contact"]) < 0.15

    opportunities = grouped["opportunity"]
    assert {o["is_open"] for o in opportunities} == {True, False}
    assert all(o["account_id"] in accounts for o in opportunities)
    owners = {a["owner_id"] for a in accounts.values()} - {None}
    assert owners <= set(OWNERS) and len(owners) == 40

    contact_emails = {c["email"] for c in grouped["contact"]}
    assert any(lead["email"] in contact_emails for lead in grouped["lead"]), "leads duplicating contacts"
    assert all(lead["account_id"] is None for lead in grouped["lead"])


def test_generated_records_are_unique_normalized_and_encodable(crm: list[tuple[str, Any]]) -> None:
    ids = collections.Counter((kind, record["id"]) for kind, record in crm)
    assert max(ids.values()) == 1
    domains = [domain for kind, r in crm if kind == "account" for domain in r["domains"]]
    assert len(domains) == len(set(domains))
    for kind, record in crm[:2_000]:
        _, value, headers = crm_events.encode(kind, record)  # type: ignore[arg-type]
        assert crm_events.decode(kind, value, headers) == record  # type: ignore[arg-type]
        if kind in ("contact", "lead") and record["email"]:
            parsed = normalize_email(record["email"])
            assert parsed is not None and parsed.email == record["email"]


def test_written_csv_files_load_back_to_the_same_records(tmp_path: Path, crm: list[tuple[str, Any]]) -> None:
    written = write_csv(tmp_path, crm)
    assert {path.name for path in written.paths.values()} == {
        "accounts.csv",
        "contacts.csv",
        "leads.csv",
        "opportunities.csv",
    }
    grouped = _by_kind(crm)
    for kind, path in written.paths.items():
        rows = list(CrmCsvReader(kind, path))
        assert [row.rejection for row in rows if row.rejection] == []
        assert [row.warnings for row in rows if row.warnings] == []
        assert [row.record for row in rows] == grouped[kind]
        assert written.counts[kind] == len(grouped[kind])


def test_a_small_crm_holds_exactly_the_accounts_asked_for() -> None:
    for size in (1, 50, 400, 401):
        accounts = [r for kind, r in generate_crm(size, seed=5, demo_leads=0) if kind == "account"]
        assert len(accounts) == size


def test_a_generated_crm_is_owned_by_the_given_team_and_leaves_a_share_of_demo_companies_new() -> None:
    from streams.crm.synthetic import generate_crm
    from streams.demo.synthetic import companies

    team = ("ana", "ben", "cat")
    records = list(generate_crm(300, seed=3, demo_seed=3, owners=team, demo_share=0.5, demo_leads=0))
    owners = {r["owner_id"] for kind, r in records if r.get("owner_id")}
    assert owners <= set(team) and owners
    domains = {d for kind, r in records if kind == "account" for d in r["domains"]}
    demo = [c.domain for c in companies(seed=3)]
    customers = sum(domain in domains for domain in demo)
    # Half the demo companies become accounts (a duplicate demo domain can make it one fewer).
    assert len(demo) // 2 - 2 <= customers <= len(demo) // 2
