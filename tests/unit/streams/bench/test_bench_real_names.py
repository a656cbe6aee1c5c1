"""The real-pairs bench: reads a pairs file, leaves out the listed rows, says so when the file is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from processors.crm.matcher import Matcher
from streams.bench import real_names
from tests.support.builders import shipped_enricher


def test_pairs_are_matched_through_the_matcher_and_exclusions_are_left_out(tmp_path: Path) -> None:
    (tmp_path / real_names.PAIRS_FILE).write_text(
        "name1,name2,is_match,schema,notes\n"
        'Zantrix N.V.,"ZANTRIX N.V., ROTTERDAM",true,Company,\n'
        "Tolland Construction,Tolland Constructors,false,Company,\n"
        "Quorra Fund IV L.P.,Quorra Fund V L.P.,true,Company,\n",
        encoding="utf-8",
    )
    real_names.EXCLUSIONS[("Quorra Fund IV L.P.", "Quorra Fund V L.P.", "true")] = real_names.FUND_SERIES
    try:
        result = real_names.run_real_pairs(tmp_path, Matcher(), shipped_enricher())
    finally:
        del real_names.EXCLUSIONS[("Quorra Fund IV L.P.", "Quorra Fund V L.P.", "true")]
    assert result is not None
    assert (result["kept"], result["precision"], result["recall"]) == (2, 1.0, 1.0)
    assert [row["why"] for row in result["excluded"]] == [real_names.FUND_SERIES]


def test_no_file_no_figures_and_one_sentence(tmp_path: Path) -> None:
    assert real_names.run_real_pairs(tmp_path, Matcher(), shipped_enricher()) is None
    console = Console(record=True, width=200)
    real_names.render_real_pairs(None, None, console)
    assert "No real labelled pairs" in console.export_text()


def test_the_data_directory_comes_from_the_flag_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADROUTE_REAL_DATA_DIR", "/elsewhere")
    assert real_names.data_dir("/flag") == Path("/flag")
    assert real_names.data_dir() == Path("/elsewhere")
    monkeypatch.delenv("LEADROUTE_REAL_DATA_DIR")
    assert real_names.data_dir().name == "data"
