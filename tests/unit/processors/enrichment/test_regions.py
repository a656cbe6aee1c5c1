"""Region map: the shipped defaults, user overlays, and errors a RevOps user can act on."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pycountry
import pytest

import processors.enrichment
from processors.config import ConfigError, parse_yaml
from processors.enrichment.regions import COUNTRY, STATE, Placement, RegionMap

DEFAULT_FILE = Path(processors.enrichment.__file__).parent / "data" / "regions.yaml"


@pytest.fixture(scope="module")
def default_map() -> RegionMap:
    return RegionMap.from_document(parse_yaml(DEFAULT_FILE.read_text(encoding="utf-8"), str(DEFAULT_FILE)))


def _load(text: str, base: RegionMap | None = None, source: str = "custom.yaml") -> RegionMap:
    return RegionMap.from_document(parse_yaml(dedent(text), source), base=base)


# (country, state, region, sub_region)
PLACEMENTS: list[tuple[str, str | None, str, str]] = [
    # EMEA
    ("GB", None, "EMEA", "UK&I"),
    ("IE", None, "EMEA", "UK&I"),
    ("JE", None, "EMEA", "UK&I"),
    ("DE", None, "EMEA", "DACH"),
    ("AT", None, "EMEA", "DACH"),
    ("CH", None, "EMEA", "DACH"),
    ("FR", None, "EMEA", "France"),
    ("RE", None, "EMEA", "France"),
    ("NL", None, "EMEA", "Benelux"),
    ("BE", None, "EMEA", "Benelux"),
    ("LU", None, "EMEA", "Benelux"),
    ("SE", None, "EMEA", "Nordics"),
    ("NO", None, "EMEA", "Nordics"),
    ("DK", None, "EMEA", "Nordics"),
    ("FI", None, "EMEA", "Nordics"),
    ("IS", None, "EMEA", "Nordics"),
    ("ES", None, "EMEA", "Southern Europe"),
    ("IT", None, "EMEA", "Southern Europe"),
    ("PT", None, "EMEA", "Southern Europe"),
    ("GR", None, "EMEA", "Southern Europe"),
    ("CY", None, "EMEA", "Southern Europe"),
    ("PL", None, "EMEA", "CEE"),
    ("CZ", None, "EMEA", "CEE"),
    ("RO", None, "EMEA", "CEE"),
    ("HU", None, "EMEA", "CEE"),
    ("EE", None, "EMEA", "CEE"),
    ("RU", None, "EMEA", "CEE"),
    ("AE", None, "EMEA", "Middle East"),
    ("SA", None, "EMEA", "Middle East"),
    ("IL", None, "EMEA", "Middle East"),
    ("TR", None, "EMEA", "Middle East"),
    ("EG", None, "EMEA", "Middle East"),
    ("ZA", None, "EMEA", "Africa"),
    ("NG", None, "EMEA", "Africa"),
    ("KE", None, "EMEA", "Africa"),
    ("MA", None, "EMEA", "Africa"),
    # AMER: states decide inside the US and Canada
    ("US", "CA", "AMER", "US West"),
    ("US", "WA", "AMER", "US West"),
    ("US", "CO", "AMER", "US West"),
    ("US", "HI", "AMER", "US West"),
    ("US", "TX", "AMER", "US Central"),
    ("US", "IL", "AMER", "US Central"),
    ("US", "NY", "AMER", "US East"),
    ("US", "FL", "AMER", "US East"),
    ("US", "DC", "AMER", "US East"),
    ("US", "PR", "AMER", "US East"),
    ("US", "GU", "AMER", "US West"),
    ("US", None, "AMER", "US"),
    ("PR", None, "AMER", "US East"),
    ("VI", None, "AMER", "US East"),
    ("GU", None, "AMER", "US West"),
    ("CA", "BC", "AMER", "Canada West"),
    ("CA", "AB", "AMER", "Canada West"),
    ("CA", "ON", "AMER", "Canada East"),
    ("CA", "QC", "AMER", "Canada East"),
    ("CA", None, "AMER", "Canada"),
    ("BM", None, "AMER", "North America"),
    ("GL", None, "AMER", "North America"),
    ("PM", None, "AMER", "North America"),
    # LATAM
    ("MX", None, "LATAM", "Mexico"),
    ("CR", None, "LATAM", "Central America"),
    ("PA", None, "LATAM", "Central America"),
    ("JM", None, "LATAM", "Caribbean"),
    ("DO", None, "LATAM", "Caribbean"),
    ("BR", None, "LATAM", "Brazil"),
    ("AR", None, "LATAM", "Southern Cone"),
    ("CL", None, "LATAM", "Southern Cone"),
    ("CO", None, "LATAM", "Andean"),
    ("PE", None, "LATAM", "Andean"),
    # APAC
    ("JP", None, "APAC", "Japan"),
    ("CN", None, "APAC", "Greater China"),
    ("HK", None, "APAC", "Greater China"),
    ("TW", None, "APAC", "Greater China"),
    ("KR", None, "APAC", "Korea"),
    ("SG", None, "APAC", "Southeast Asia"),
    ("ID", None, "APAC", "Southeast Asia"),
    ("PH", None, "APAC", "Southeast Asia"),
    ("VN", None, "APAC", "Southeast Asia"),
    ("IN", None, "APAC", "India & South Asia"),
    ("PK", None, "APAC", "India & South Asia"),
    ("AU", None, "APAC", "ANZ"),
    ("NZ", None, "APAC", "ANZ"),
    ("KZ", None, "APAC", "Central Asia"),
    ("FJ", None, "APAC", "Pacific Islands"),
]


@pytest.mark.parametrize(("country", "state", "region", "sub_region"), PLACEMENTS)
def test_default_placement(
    default_map: RegionMap, country: str, state: str | None, region: str, sub_region: str
) -> None:
    expected = Placement(region, sub_region, STATE if state else COUNTRY)
    assert default_map.place(country, state) == expected


@pytest.mark.parametrize(
    ("country", "state", "sub_region"),
    [("de", None, "DACH"), ("us", "ca", "US West"), ("Ca", "on", "Canada East"), ("gb", "eng", "UK&I")],
)
def test_lower_case_input(default_map: RegionMap, country: str, state: str | None, sub_region: str) -> None:
    placement = default_map.place(country, state)
    assert placement is not None
    assert placement.sub_region == sub_region


@pytest.mark.parametrize(
    ("country", "state"), [(None, None), (None, "CA"), ("", None), ("XX", None), ("ZZ", "CA")]
)
def test_missing_or_unknown_country_is_not_placed(
    default_map: RegionMap, country: str | None, state: str | None
) -> None:
    assert default_map.place(country, state) is None


def test_a_state_without_a_rule_falls_back_to_the_country(default_map: RegionMap) -> None:
    assert default_map.place("US", "ZZ") == Placement("AMER", "US", COUNTRY)
    assert default_map.place("DE", "BY") == Placement("EMEA", "DACH", COUNTRY)


def test_defaults_cover_every_iso_country(default_map: RegionMap) -> None:
    assert default_map.unmapped_countries() == ()
    for country in pycountry.countries:
        assert default_map.place(country.alpha_2, None) is not None, country.alpha_2


def test_defaults_cover_every_us_state_and_canadian_province(default_map: RegionMap) -> None:
    for country in ("US", "CA"):
        for subdivision in pycountry.subdivisions.get(country_code=country):
            state = subdivision.code.split("-", 1)[1]
            placement = default_map.place(country, state)
            assert placement is not None
            assert placement.matched == STATE, subdivision.code


def test_default_regions_and_sub_regions_in_file_order(default_map: RegionMap) -> None:
    assert default_map.regions == ("AMER", "LATAM", "EMEA", "APAC")
    assert default_map.sub_regions == (
        "US West", "US Central", "US East", "US", "Canada West", "Canada East", "Canada", "North America",
        "Mexico", "Central America", "Caribbean", "Brazil", "Southern Cone", "Andean",
        "UK&I", "DACH", "France", "Benelux", "Nordics", "Southern Europe", "CEE", "Middle East", "Africa",
        "ANZ", "Japan", "Greater China", "Korea", "Southeast Asia", "India & South Asia", "Central Asia",
        "Pacific Islands",
    )  # fmt: skip


OVERRIDE = """\
    version: 1
    regions:
      - region: EMEA
        sub_region: Central Europe
        countries: [de]
      - region: AMER
        sub_region: US South
        states:
          US: [TX]
    """


def test_overlay_replaces_only_what_the_user_names(default_map: RegionMap) -> None:
    custom = _load(OVERRIDE, base=default_map)
    assert custom.place("DE", None) == Placement("EMEA", "Central Europe", COUNTRY)
    assert custom.place("US", "TX") == Placement("AMER", "US South", STATE)
    assert custom.place("AT", None) == Placement("EMEA", "DACH", COUNTRY)
    assert custom.place("US", "CA") == Placement("AMER", "US West", STATE)
    assert custom.place("US", "IL") == Placement("AMER", "US Central", STATE)
    assert custom.place("US", None) == Placement("AMER", "US", COUNTRY)
    assert custom.unmapped_countries() == ()
    assert custom.regions == default_map.regions
    assert custom.sub_regions == (*default_map.sub_regions, "Central Europe", "US South")
    assert default_map.place("DE", None) == Placement("EMEA", "DACH", COUNTRY)  # the base is untouched


def test_overlay_drops_sub_regions_nothing_uses_any_more(default_map: RegionMap) -> None:
    custom = _load(
        """\
        version: 1
        regions:
          - region: LATAM
            sub_region: Mexico & Central America
            countries: [MX]
        """,
        base=default_map,
    )
    assert "Mexico" not in custom.sub_regions
    assert custom.sub_regions[-1] == "Mexico & Central America"


def test_overlaying_a_country_keeps_the_bases_state_rules(default_map: RegionMap) -> None:
    custom = _load(
        """\
        version: 1
        regions:
          - region: NA
            countries: [US]
        """,
        base=default_map,
    )
    assert custom.place("US", None) == Placement("NA", None, COUNTRY)
    assert custom.place("US", "NY") == Placement("AMER", "US East", STATE)


def test_replace_true_ignores_the_base(default_map: RegionMap) -> None:
    custom = _load(OVERRIDE.replace("version: 1\n", "version: 1\n    replace: true\n"), base=default_map)
    assert custom.place("DE", None) == Placement("EMEA", "Central Europe", COUNTRY)
    assert custom.place("US", "TX") == Placement("AMER", "US South", STATE)
    assert custom.place("AT", None) is None
    assert custom.place("US", "CA") is None
    assert custom.place("US", None) is None  # a state rule alone does not cover the country
    assert custom.regions == ("EMEA", "AMER")
    assert custom.sub_regions == ("Central Europe", "US South")
    unmapped = custom.unmapped_countries()
    assert "US" in unmapped
    assert "DE" not in unmapped
    assert len(unmapped) == len(pycountry.countries) - 1
    assert list(unmapped) == sorted(unmapped)


def test_entries_may_mix_countries_and_states_and_omit_sub_region() -> None:
    custom = _load(
        """\
        version: 1
        regions:
          - region: Pacific
            countries: [GU]
            states: {us: [gu, US-HI]}
        """
    )
    assert custom.place("GU", None) == Placement("Pacific", None, COUNTRY)
    assert custom.place("US", "HI") == Placement("Pacific", None, STATE)
    assert custom.sub_regions == ()


def test_bare_norway_and_ontario_are_codes_not_booleans() -> None:
    custom = _load(
        """\
        version: 1
        regions:
          - region: Nordics
            countries: [SE, NO]
          - region: Central Canada
            states:
              CA: [ON, QC]
        """
    )
    assert custom.place("NO", None) == Placement("Nordics", None, COUNTRY)
    assert custom.place("CA", "ON") == Placement("Central Canada", None, STATE)


# (file text, line of the error, part of the reason)
ERRORS = [
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries:
              - DE
              - XX
        """,
        6,
        "unknown country code 'XX'; use ISO 3166-1 alpha-2, e.g. DE",
        id="unknown-country",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries: [DE, UK]
        """,
        4,
        "unknown country code 'UK'; did you mean 'GB'? Use ISO 3166-1 alpha-2",
        id="unknown-country-with-suggestion",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            states:
              US: [CA]
              XX: [AB]
        """,
        6,
        "unknown country code 'XX'",
        id="unknown-country-over-states",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            states:
              US: [CA, OR]
              CA:
                - BC
                - ZZ
        """,
        8,
        "unknown state 'ZZ' for CA; use the ISO 3166-2 code without 'CA-', e.g. AB",
        id="unknown-state",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            states:
              US: [California]
        """,
        5,
        "did you mean 'CA'?",
        id="unknown-state-with-suggestion",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            states:
              'NO': [3]
        """,
        5,
        "quote numeric codes so a leading zero survives, e.g. '03'",
        id="numeric-state",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries:
              - DE
          - region: EMEA
            sub_region: DACH
            countries: [AT, de]
        """,
        8,
        "country 'DE' is mapped on lines 5 and 8; keep one of them",
        id="country-twice",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries: [DE, AT, DE]
        """,
        4,
        "country 'DE' is mapped twice on line 4",
        id="country-twice-on-one-line",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            sub_region: US Central
            states: {US: [TX, IL]}
          - region: AMER
            sub_region: US South
            states:
              us:
                - tx
        """,
        10,
        "state 'US-TX' is mapped on lines 5 and 10; keep one of them",
        id="state-twice",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries: [DE]
          - sub_region: Nordics
            countries: [SE]
        """,
        5,
        "this entry has no region; add one, e.g. 'region: EMEA'",
        id="missing-region",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            sub_region: Nordics
        """,
        3,
        "this entry places nothing",
        id="entry-places-nothing",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries: DE
        """,
        4,
        "countries must be a list of codes, e.g. 'countries: [DE, AT, CH]'",
        id="countries-not-a-list",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            states: [CA, OR]
        """,
        4,
        "states must list states under their country, e.g. 'states: {US: [CA, OR]}'",
        id="states-not-a-mapping",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: AMER
            states:
              US: CA
        """,
        5,
        "list the states of US as a list",
        id="state-list-not-a-list",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: [EMEA]
            countries: [DE]
        """,
        3,
        "region must be a name in text, e.g. 'region: EMEA'",
        id="region-not-text",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            sub_region: 7
            countries: [DE]
        """,
        4,
        "sub_region must be a name in text",
        id="sub-region-not-text",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            countries: [DE, 49]
        """,
        4,
        "a country must be a code in text, not 49",
        id="country-not-text",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - EMEA
        """,
        3,
        "each entry must be a mapping",
        id="entry-not-a-mapping",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          region: EMEA
        """,
        2,
        "regions must be a list of entries",
        id="regions-not-a-list",
    ),
    pytest.param(
        """\
        version: 1
        replace: yes please
        regions: []
        """,
        2,
        "replace must be true or false",
        id="replace-not-a-boolean",
    ),
    pytest.param(
        """\
        version: 1
        regions: []
        defaults: none
        """,
        3,
        "unknown key 'defaults'; the top level takes only version, replace, regions",
        id="unknown-top-level-key",
    ),
    pytest.param(
        """\
        version: 1
        regoins: []
        """,
        2,
        "unknown key 'regoins'; did you mean 'regions'?",
        id="misspelt-top-level-key",
    ),
    pytest.param(
        """\
        version: 1
        regions:
          - region: EMEA
            country: [DE]
        """,
        4,
        "unknown key 'country'; did you mean 'countries'? an entry takes only",
        id="unknown-entry-key",
    ),
    pytest.param(
        """\
        version: 2
        regions: []
        """,
        1,
        "version 2 is not supported; this build reads 'version: 1'",
        id="version-2",
    ),
    pytest.param(
        """\
        version: '1'
        regions: []
        """,
        1,
        "version '1' is not supported",
        id="version-as-text",
    ),
    pytest.param(
        """\
        # my regions
        regions: []
        """,
        2,
        "no version; add 'version: 1' at the top of the file",
        id="version-missing",
    ),
    pytest.param(
        """\
        version: 1
        """,
        1,
        "no 'regions:' list",
        id="regions-missing",
    ),
    pytest.param(
        """\
        - DE
        """,
        1,
        "the file must be a mapping",
        id="not-a-mapping",
    ),
    pytest.param("# nothing yet\n", None, "the file is empty", id="empty"),
]


@pytest.mark.parametrize(("text", "line", "reason"), ERRORS)
def test_errors_name_the_file_and_line(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(text, source="my-regions.yaml")
    where = "my-regions.yaml" if line is None else f"my-regions.yaml:{line}"
    assert str(caught.value).startswith(f"{where}: ")
    assert caught.value.line == line
    assert reason in caught.value.reason


def test_errors_are_reported_for_a_user_file_over_the_defaults(default_map: RegionMap) -> None:
    """Naming what the base already maps is an override, but a user file may not repeat itself."""
    _load("version: 1\nregions: [{region: EMEA, countries: [DE]}]\n", base=default_map)
    with pytest.raises(ConfigError, match=r"^custom\.yaml:2: country 'DE' is mapped twice on line 2"):
        _load("version: 1\nregions: [{region: EMEA, countries: [DE, de]}]\n", base=default_map)


def test_shipped_default_has_no_errors_and_every_entry_is_in_use(default_map: RegionMap) -> None:
    document = parse_yaml(DEFAULT_FILE.read_text(encoding="utf-8"), DEFAULT_FILE.name)
    names = {(entry["region"], entry.get("sub_region")) for entry in document.data["regions"]}
    assert len(names) == len(document.data["regions"])  # one entry per sub-region
    assert len(default_map.sub_regions) == len(names)
