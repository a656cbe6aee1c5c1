"""``leadroute enrich`` and ``leadroute firmographics``: one lead or one domain on demand."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.cli.main import main
from streams.demo.synthetic import companies
from streams.wiring import SAMPLE_DATASET


def test_enrich_explains_one_lead_as_json() -> None:
    lead = {"email": "jane@acme.io", "phone": "+44 20 7946 0958", "title": "Sr. VP, Global Sales"}
    result = CliRunner().invoke(main, ["enrich", "--json"], input=json.dumps(lead))
    assert result.exit_code == 0, result.output
    section = json.loads(result.stdout)["enrichment"]
    assert (section["country_code"], section["region"], section["seniority"]) == ("GB", "EMEA", "vp")
    assert section["provenance"]["region"]["source"] == "phone"


def test_enrich_prints_a_table_with_sources() -> None:
    lead = {"email": "jane@acme.io", "country": "US", "phone": "+49 30 123456"}
    result = CliRunner().invoke(main, ["enrich"], input=json.dumps(lead))
    assert result.exit_code == 0
    assert "Conflicts" in result.stdout and "conflict:country_code" in result.stdout


def test_enrich_refuses_what_is_not_a_lead() -> None:
    assert CliRunner().invoke(main, ["enrich"], input="{not json").exit_code == 1
    assert CliRunner().invoke(main, ["enrich"], input=json.dumps({"title": "CEO"})).exit_code == 1


def test_enrich_exits_2_on_a_broken_regions_file(tmp_path: Path) -> None:
    broken = tmp_path / "regions.yaml"
    broken.write_text("version: 2\n")
    result = CliRunner().invoke(
        main, ["enrich", "--regions-file", str(broken)], input=json.dumps({"email": "a@acme.io"})
    )
    assert result.exit_code == 2
    assert f"{broken}:1" in result.output


def test_firmographics_lookup_against_the_dataset() -> None:
    known = next(c for c in companies() if c.in_dataset)
    absent = next(c for c in companies() if not c.in_dataset)
    runner = CliRunner()
    found = runner.invoke(
        main, ["firmographics", "lookup", known.domain, "--json", "--firmographics", "dataset"]
    )
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["record"]["company_name"] == known.name
    missing = runner.invoke(main, ["firmographics", "lookup", absent.domain, "--firmographics", "dataset"])
    assert missing.exit_code == 1
    unconfigured = runner.invoke(main, ["firmographics", "lookup", known.domain])
    assert unconfigured.exit_code == 2 and "LEADROUTE_FIRMOGRAPHICS" in unconfigured.output


def test_firmographics_lookup_exits_5_when_the_provider_cannot_answer() -> None:
    result = CliRunner().invoke(
        main,
        ["firmographics", "lookup", "acme.io", "--json", "--firmographics", "http",
         "--firmographics-url", "http://127.0.0.1:9/c?d={domain}", "--firmographics-timeout", "0.3",
         "--firmographics-cache-ttl", "0"],
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    assert json.loads(result.stdout)["outcome"] == "unavailable"


def test_firmographics_sample_writes_the_shipped_file(tmp_path: Path) -> None:
    out = tmp_path / "sample.csv"
    assert CliRunner().invoke(main, ["firmographics", "sample", "--out", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == SAMPLE_DATASET.read_text(encoding="utf-8")


def test_enrich_refuses_hostile_json_with_a_sentence_not_a_traceback() -> None:
    for body, fragment in (
        ('{"email":"a@b.io","x":' + "[" * 10_000 + "]" * 10_000 + "}", "levels deep"),
        ('{"email":"a@b.io","employees":' + "9" * 5_000 + "}", "digits long"),
        ("{not json", "not valid JSON"),
    ):
        result = CliRunner().invoke(main, ["enrich"], input=body)
        assert result.exit_code == 1, result.output
        assert fragment in result.output
