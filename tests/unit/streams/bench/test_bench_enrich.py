"""The enrichment benchmark: its label mapping, its scoring, and its skip when the data is absent."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.bench.enrich import area_of, level_of, read_titles, run_bench_enrich, title_figures
from streams.cli.main import main
from streams.settings import Settings
from streams.wiring import domain_lists, title_classifier


def test_labels_map_to_leadroute_vocabulary_by_meaning() -> None:
    assert level_of("owner") == level_of("c_level") == "C-Suite"
    assert level_of("head") == level_of("director") == "Director"
    assert level_of("senior_ic") == level_of(None) == "Other"
    assert area_of("it") == area_of("engineering") == "Technical"
    assert area_of("finance") == "Business"
    assert area_of("finance", "other") == "Other"
    assert area_of("product", "other") == "Business"
    assert area_of(None) == area_of("other") == "Other"


def test_scores_a_small_labelled_file(tmp_path: Path) -> None:
    (tmp_path / "job-titles-dev.tsv").write_text(
        'title\tlevel\tarea\nVP of Sales\tVP\tSales-Marketing\n"Chief Financial Officer"\tC-Suite\tOther\n'
        "Payroll Clerk\tOther\tBusiness\n",
        encoding="utf-8",
    )
    rows = read_titles(tmp_path / "job-titles-dev.tsv")
    assert rows[1] == ("Chief Financial Officer", "C-Suite", "Other")
    figures = title_figures(rows, title_classifier(Settings()))
    assert figures["titles"] == 3
    assert figures["seniority_accuracy"] == 1.0
    # the CFO is finance: wrong when finance counts as Business, right as Other or either
    assert figures["function_accuracy"]["either"] >= figures["function_accuracy"]["business"]


def test_without_the_data_the_title_figures_are_skipped_with_a_sentence(tmp_path: Path) -> None:
    summary = run_bench_enrich(tmp_path, title_classifier(Settings()), domain_lists(Settings()))
    assert summary["titles"] is None
    assert summary["email"]["free_mail_well_known"]["checked"] > 200
    result = CliRunner().invoke(main, ["bench", "enrich", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "title figures skipped" in result.output
    result = CliRunner().invoke(
        main, ["bench", "enrich", "--json"], env={"LEADROUTE_REAL_DATA_DIR": str(tmp_path)}
    )
    assert json.loads(result.output)["titles"] is None
