"""CSV the CLI writes never runs as a spreadsheet formula, and our own loader reads it back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from processors.owners.loader import parse_owners
from streams.cli import owners as cli_owners
from streams.cli.main import main
from streams.crm.csv_records import CrmCsvReader
from streams.csv_safe import SafeWriter, safe_cell, unescaped_cell

EVIL = '=HYPERLINK("http://evil","x")'
ENV = {"LEADROUTE_FIRMOGRAPHICS": "none", "LEADROUTE_LOG_LEVEL": "WARNING"}


@pytest.mark.parametrize(
    "text", [EVIL, "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "-", "+49 30 1234", "=", "-cmd"]
)
def test_a_cell_that_would_run_as_a_formula_gets_an_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert unescaped_cell(safe_cell(text)) == text


def test_text_that_starts_with_an_apostrophe_and_a_formula_survives_the_round_trip() -> None:
    assert safe_cell("'=1") == "''=1"
    assert unescaped_cell(safe_cell("'=1")) == "'=1"


@pytest.mark.parametrize("text", ["-5", "-3.2", "-0.5", "-.5", "-1e5", "Acme", "", "'t Hooft", "5-3", "a=b"])
def test_negative_numbers_and_ordinary_text_are_written_as_they_are(text: str) -> None:
    assert safe_cell(text) == text
    assert unescaped_cell(text) == text


def test_cells_of_any_type_become_text() -> None:
    assert [safe_cell(value) for value in (None, -5, 3.5, True)] == ["", "-5", "3.5", "True"]


def test_the_loader_takes_off_only_the_apostrophe_before_a_formula_character() -> None:
    assert unescaped_cell("'=1+1") == "=1+1"
    assert unescaped_cell("''=1") == "'=1"  # one apostrophe, never more
    assert unescaped_cell("'-5") == "-5"
    assert unescaped_cell("'hello") == "'hello"


def test_the_writer_escapes_every_cell_and_stays_csv() -> None:
    buffer = io.StringIO()
    SafeWriter(buffer).writerows([["a", EVIL], ["-5", "@x, y"]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["a", "'" + EVIL], ["-5", "'@x, y"]]


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_route_writes_a_flat_csv_whose_formula_cells_start_with_an_apostrophe(tmp_path: Path) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(
        json.dumps({"lead_id": "=cmd|' /C calc'!A0", "email": "a@evil.io", "company": EVIL}) + "\n"
        + json.dumps({"lead_id": "plain-1", "email": "b@acme.io", "company": "Acme"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    output = tmp_path / "assignments.csv"
    result = CliRunner().invoke(
        main,
        ["route", "--input", str(leads), "--output", str(output), "--state", "memory", "--json"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    header, evil, plain = _cells(output)
    assert header == [
        "lead_id", "company", "destination_type", "destination", "owner", "channel", "route",
        "decided_at", "replayed", "reason", "decision_path",
    ]  # fmt: skip
    row = dict(zip(header, evil, strict=True))
    assert row["company"] == "'" + EVIL
    assert row["lead_id"] == "'=cmd|' /C calc'!A0"
    assert (row["destination_type"], row["destination"], row["owner"]) == ("queue", "inbound-triage", "")
    assert row["decided_at"].endswith("Z") and row["replayed"] == "false"
    assert row["reason"] and row["decision_path"]
    assert dict(zip(header, plain, strict=True))["company"] == "Acme"


def test_route_still_writes_jsonl_for_any_other_name(tmp_path: Path) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps({"email": "a@evil.io", "company": EVIL}) + "\n", encoding="utf-8")
    output = tmp_path / "assignments.jsonl"
    result = CliRunner().invoke(
        main,
        ["route", "--input", str(leads), "--output", str(output), "--state", "memory", "--json"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["lead"]["raw"]["company"] == EVIL


def test_owners_list_csv_escapes_formula_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    [owner] = parse_owners(
        f"owners:\n  - id: ana.ruiz\n    name: '{EVIL}'\n    team: '@sales'\n    skills: [german]\n",
        "owners.yaml",
    )
    monkeypatch.setattr(cli_owners, "_current", lambda settings: {owner.id: owner})
    result = CliRunner().invoke(main, ["owners", "list", "--csv"], env=ENV)
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(io.StringIO(result.stdout)))
    cells = dict(zip(header, row, strict=True))
    assert header[:3] == ["id", "name", "email"]
    assert (cells["id"], cells["name"], cells["team"]) == ("ana.ruiz", "'" + EVIL, "'@sales")
    assert cells["skills"] == "german" and cells["right_now"]


def test_crm_generate_escapes_formulas_and_crm_load_reads_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.crm import synthetic as crm_synthetic

    real = crm_synthetic.generate_crm

    def with_evil_account(*args: Any, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        first = True
        for kind, record in real(*args, **kwargs):
            if kind == "account" and first:
                record = {**record, "name": EVIL, "owner_id": "=cmd|x", "tier": "-1"}
                first = False
            yield kind, record

    monkeypatch.setattr(crm_synthetic, "generate_crm", with_evil_account)
    result = CliRunner().invoke(main, ["crm", "generate", "--accounts", "3", "--out", str(tmp_path)], env=ENV)
    assert result.exit_code == 0, result.output
    header, first, *_ = _cells(tmp_path / "accounts.csv")
    cells = dict(zip(header, first, strict=True))
    assert (cells["name"], cells["owner_id"], cells["tier"]) == ("'" + EVIL, "'=cmd|x", "-1")
    [loaded, *_] = [row.record for row in CrmCsvReader("account", tmp_path / "accounts.csv") if row.record]
    assert (loaded["owner_id"], loaded["tier"]) == ("=cmd|x", "-1")  # as generated, apostrophe gone


def test_crm_load_keeps_an_apostrophe_that_is_part_of_a_name(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "id,name,owner_id\na1,Bakery,'t.hooft\na2,Bakery,'@ana\na3,Bakery,''=x\n", encoding="utf-8"
    )
    owners = [row.record["owner_id"] for row in CrmCsvReader("account", path)]  # type: ignore[index]
    assert owners == ["'t.hooft", "@ana", "'=x"]


def test_the_firmographics_sample_is_written_through_the_safe_writer() -> None:
    from streams.demo.synthetic import companies, firmographics_csv

    pool = companies(40)
    index = next(index for index, company in enumerate(pool) if company.in_dataset)
    pool[index] = replace(pool[index], name=EVIL)
    rows = list(csv.reader(io.StringIO(firmographics_csv(pool))))
    assert [row[1] for row in rows if row[1].startswith("'")] == ["'" + EVIL]
