"""Batch routing over files, with state in memory: no broker, no Redis."""

from __future__ import annotations

import json
from pathlib import Path

from streams.routing.batch import run_batch
from streams.settings import Settings


def _run(tmp_path: Path, name: str, text: str) -> tuple[int, list[dict], list[dict]]:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    output, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    code = run_batch(
        Settings.from_env({}),
        input_path=str(source),
        output_path=str(output),
        rejects_path=str(rejects),
        state="memory",
        as_json=True,
    )
    read = lambda path: [json.loads(line) for line in path.read_text().splitlines()]  # noqa: E731
    return code, read(output), read(rejects)


def test_jsonl_lines_are_routed_and_bad_ones_rejected_with_their_line_number(tmp_path: Path) -> None:
    text = "\n".join(
        [
            json.dumps({"lead_id": "a", "email": "Jane@Acme.com", "country": "UK"}),
            "not json",
            "",
            json.dumps({"title": "CEO"}),
            json.dumps({"firstName": "bob", "Company Name": "Bob GmbH", "country": "Deutschland"}),
        ]
    )
    code, routed, rejected = _run(tmp_path, "leads.jsonl", text)
    assert code == 1
    assert [r["lead"]["raw"]["first_name"] for r in routed] == [None, "bob"]
    assert routed[0]["lead"]["normalized"]["country_code"] == "GB"
    assert routed[1]["lead"]["normalized"]["country_code"] == "DE"
    assert [(r["line"], r["code"]) for r in rejected] == [(2, "undecodable"), (4, "schema_violation")]


def test_csv_rows_with_empty_cells_and_a_ragged_row(tmp_path: Path) -> None:
    text = "email,first_name,country,employees\nx@y.io,ann,USA,51-200\nbroken,row,with,too,many\n,,,\n"
    code, routed, rejected = _run(tmp_path, "leads.csv", text)
    assert code == 1
    assert len(routed) == 1
    assert routed[0]["lead"]["normalized"]["employees_min"] == 51
    assert routed[0]["lead"]["raw"]["state"] is None
    assert [r["line"] for r in rejected] == [3, 4]
    assert "cells" in rejected[0]["reason"]


def test_a_clean_file_exits_zero(tmp_path: Path) -> None:
    code, routed, rejected = _run(tmp_path, "leads.jsonl", json.dumps({"email": "a@b.io"}) + "\n")
    assert (code, len(routed), rejected) == (0, 1, [])


def test_route_refuses_a_broken_titles_file_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from streams.cli.main import main

    leads = tmp_path / "leads.jsonl"
    leads.write_text('{"email": "a@acme.io"}\n')
    titles = tmp_path / "titles.yaml"
    titles.write_text("seniority: [not, a, mapping]\n")
    result = CliRunner().invoke(
        main,
        ["route", "--input", str(leads), "--output", str(tmp_path / "out.jsonl"), "--state", "memory",
         "--titles-file", str(titles)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert str(titles) in result.output


def test_hostile_lines_are_rejected_with_the_streams_codes_and_the_file_goes_on(tmp_path: Path) -> None:
    lines = [
        b'{"email":"a@b.io","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"email":"a@b.io","employees":' + b"9" * 5_000 + b"}",
        b'{"email":"a@b.io","company":"Acme \xed\xa0\x80"}',
        b'{"email":"a@b.io","company":"\\ud800"}',
        b'{"email":"a@b.io","company":"caf\xe9"}',  # Latin-1, not UTF-8
        json.dumps({"lead_id": "ok", "email": "ok@b.io", "notes": "n" * 50_000, "utm": "x"}).encode(),
    ]
    source = tmp_path / "leads.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    code = run_batch(
        Settings.from_env({}),
        input_path=str(source),
        output_path=str(output),
        rejects_path=str(rejects),
        state="memory",
        as_json=True,
    )
    rejected = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert code == 1
    assert [(r["line"], r["code"]) for r in rejected] == [
        (1, "undecodable"),
        (2, "schema_violation"),
        (3, "undecodable"),
        (4, "undecodable"),
        (5, "undecodable"),
    ]
    [routed] = [json.loads(line) for line in output.read_text().splitlines()]
    assert routed["lead"]["raw"]["custom"] == {"utm": "x"}
    assert "custom_truncated" in routed["lead"]["normalized"]["flags"]


def test_the_batch_router_applies_the_configured_custom_cap(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email,notes,utm\na@b.io," + "n" * 200 + ",x\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    settings = Settings.from_env({"LEADROUTE_MAX_CUSTOM_BYTES": "100"})
    assert (
        run_batch(
            settings,
            input_path=str(source),
            output_path=str(output),
            rejects_path=None,
            state="memory",
            as_json=True,
        )
        == 0
    )
    [routed] = [json.loads(line) for line in output.read_text().splitlines()]
    assert routed["lead"]["raw"]["custom"] == {"utm": "x"}
    assert "custom_truncated" in routed["lead"]["normalized"]["flags"]


def test_a_csv_row_that_is_not_utf8_is_rejected_alone(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(b"email,company\na@b.io,caf\xe9\nb@b.io,Acme\n")
    output, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    run_batch(
        Settings.from_env({}),
        input_path=str(source),
        output_path=str(output),
        rejects_path=str(rejects),
        state="memory",
        as_json=True,
    )
    assert [json.loads(line)["code"] for line in rejects.read_text().splitlines()] == ["undecodable"]
    assert len(output.read_text().splitlines()) == 1
