"""Building the enricher from settings: shipped data, user overrides, refusals with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.config import ConfigError
from processors.enrichment.firmographics import DatasetFirmographics
from streams.settings import Settings
from streams.wiring import build_enricher, domain_lists, firmographics_provider, http_provider


def test_defaults_need_no_files_and_no_provider() -> None:
    enricher = build_enricher(Settings.from_env({}))
    assert enricher.firmographics is None
    assert {"AMER", "EMEA", "APAC", "LATAM"} <= set(enricher.regions.regions)


def test_a_regions_file_overlays_the_shipped_map(tmp_path: Path) -> None:
    overlay = tmp_path / "regions.yaml"
    overlay.write_text("version: 1\nregions:\n  - region: EMEA\n    sub_region: Central Europe\n"
                       "    countries: [DE, AT]\n")  # fmt: skip
    regions = build_enricher(Settings.from_env({}, regions_file=str(overlay))).regions
    placed = regions.place("DE", None)
    assert placed is not None and placed.sub_region == "Central Europe"
    kept = regions.place("FR", None)
    assert kept is not None and kept.region == "EMEA"  # everything else keeps the shipped rules


def test_a_broken_regions_file_is_refused_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "regions.yaml"
    broken.write_text("version: 1\nregions:\n  - region: EMEA\n    countries: [DE, XX]\n")
    with pytest.raises(ConfigError) as caught:
        build_enricher(Settings.from_env({}, regions_file=str(broken)))
    assert str(caught.value).startswith(f"{broken}:4: ")


def test_a_broken_titles_file_is_refused_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "titles.yaml"
    broken.write_text("seniority:\n  cheif: [boss]\n")
    with pytest.raises(ConfigError) as caught:
        build_enricher(Settings.from_env({}, titles_file=str(broken)))
    assert str(caught.value).startswith(str(broken))
    assert caught.value.line is not None


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        build_enricher(Settings.from_env({}, regions_file=str(tmp_path / "absent.yaml")))


def test_extra_free_mail_disposable_and_business_domains() -> None:
    lists = domain_lists(
        Settings.from_env(
            {
                "LEADROUTE_FREE_MAIL_DOMAINS": "isp-mail.example, other.example",
                "LEADROUTE_DISPOSABLE_DOMAINS": "burner.example",
                "LEADROUTE_BUSINESS_DOMAINS": "zoho.com",
            }
        )
    )
    assert lists.is_free_mail("isp-mail.example", "isp-mail.example")
    assert lists.is_free_mail("other.example", "other.example")
    assert lists.is_disposable("burner.example", "burner.example")
    assert not lists.is_free_mail("zoho.com", "zoho.com")


def test_the_dataset_provider_defaults_to_the_shipped_sample() -> None:
    provider = firmographics_provider(Settings.from_env({}, firmographics="dataset"))
    assert isinstance(provider, DatasetFirmographics) and len(provider) > 300
    assert provider.name == "dataset"


def test_http_settings_reach_the_provider() -> None:
    settings = Settings.from_env(
        {
            "LEADROUTE_FIRMOGRAPHICS": "http",
            "LEADROUTE_FIRMOGRAPHICS_URL": "https://api.example.com/v1/company?domain={domain}",
            "LEADROUTE_FIRMOGRAPHICS_FIELDS": "company_name=data.name,employees=data.size",
            "LEADROUTE_FIRMOGRAPHICS_HEADERS": "Authorization=Bearer s3cret=,X-Team=revops",
            "LEADROUTE_FIRMOGRAPHICS_TIMEOUT": "0.5",
        }
    )
    provider = http_provider(settings)
    assert provider.name == "api.example.com"
    config = provider._config  # type: ignore[attr-defined]
    assert config.field_map == {"company_name": "data.name", "employees": "data.size"}
    assert config.headers == {"Authorization": "Bearer s3cret=", "X-Team": "revops"}
    assert config.timeout_s == 0.5
    assert "s3cret" not in str(settings.public_view())


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LEADROUTE_FIRMOGRAPHICS": "oracle"}, "none, dataset or http"),
        ({"LEADROUTE_FIRMOGRAPHICS": "http"}, "needs LEADROUTE_FIRMOGRAPHICS_URL"),
        ({"LEADROUTE_FIRMOGRAPHICS_TIMEOUT": "0"}, "positive number of seconds"),
    ],
)
def test_bad_firmographics_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)
