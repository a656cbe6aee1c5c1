"""Country, state and postal code normalization."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "code"),
    [
        # codes
        ("GB", "GB"),
        ("de", "DE"),
        ("GBR", "GB"),
        ("usa", "US"),
        ("826", "GB"),
        ("276", "DE"),
        # ISO names, official and common names, any case and accents
        ("Germany", "DE"),
        ("FRANCE", "FR"),
        ("united kingdom", "GB"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("Iran", "IR"),
        ("Bolivia", "BO"),
        ("Republic of Korea", "KR"),
        ("British Virgin Islands", "VG"),
        ("Holy See", "VA"),
        ("Curacao", "CW"),
        ("St Lucia", "LC"),
        ("Saint Kitts and Nevis", "KN"),
        ("Taiwan", "TW"),
        ("Hong Kong", "HK"),
        ("Congo", "CG"),
        # pycountry's translations
        ("Allemagne", "DE"),
        ("Espagne", "ES"),
        ("Alemania", "DE"),
        ("Vereinigte Staaten", "US"),
        # the documented alias table
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Northern Ireland", "GB"),
        ("Great Britain", "GB"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("US", "US"),
        ("America", "US"),
        ("United States of America", "US"),
        ("Deutschland", "DE"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("COTE D’IVOIRE", "CI"),
        ("Ivory Coast", "CI"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("South Korea", "KR"),
        ("Korea", "KR"),
        ("North Korea", "KP"),
        ("Russia", "RU"),
        ("Россия", "RU"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("UAE", "AE"),
        ("Brasil", "BR"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("México", "MX"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Österreich", "AT"),
        ("OSTERREICH", "AT"),
        ("Italia", "IT"),
        ("Nippon", "JP"),
        ("日本", "JP"),
        ("中国", "CN"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("DR Congo", "CD"),
        ("  united   states  ", "US"),
        ("United Kingdom (GB)", "GB"),
    ],
)
def test_countries(country: str, code: str) -> None:
    result = norm(country=country)
    assert result["country_code"] == code
    assert "country_unknown" not in result["flags"]


@pytest.mark.parametrize("country", ["Narnia", "EU", "Europe", "Virgin Islands", "4", "X"])
def test_unknown_countries_are_flagged(country: str) -> None:
    result = norm(country=country)
    assert result["country_code"] is None
    assert "country_unknown" in result["flags"]


@pytest.mark.parametrize("country", [None, "", "  ", "N/A", "unknown"])
def test_missing_country_is_not_flagged_unknown(country: str | None) -> None:
    result = norm(country=country)
    assert result["country_code"] is None
    assert "country_unknown" not in result["flags"]


@pytest.mark.parametrize(
    ("country", "state", "code"),
    [
        ("US", "California", "US-CA"),
        ("US", "CA", "US-CA"),
        ("US", "ca", "US-CA"),
        ("US", "Calif.", "US-CA"),
        ("USA", "new york state", "US-NY"),
        ("US", "Washington D.C.", "US-DC"),
        ("US", "Georgia", "US-GA"),
        ("US", "US-TX", "US-TX"),
        ("US", "us_tx", "US-TX"),
        ("Canada", "Ontario", "CA-ON"),
        ("CA", "ON", "CA-ON"),
        ("CA", "Québec", "CA-QC"),
        ("CA", "PQ", "CA-QC"),
        ("UK", "England", "GB-ENG"),
        ("GB", "SCT", "GB-SCT"),
        ("GB", "Bristol", "GB-BST"),
        ("Germany", "Bayern", "DE-BY"),
        ("DE", "Bavaria", "DE-BY"),
        ("DE", "NRW", "DE-NW"),
        ("DE", "Baden-Wurttemberg", "DE-BW"),
        ("India", "Maharashtra", "IN-MH"),
        ("IN", "MH", "IN-MH"),
        ("IN", "Bihar", "IN-BR"),
        ("Australia", "NSW", "AU-NSW"),
        ("AU", "New South Wales", "AU-NSW"),
        ("AU", "Vic.", "AU-VIC"),
        ("Brazil", "SP", "BR-SP"),
        ("BR", "Sao Paulo", "BR-SP"),
        ("BR", "São Paulo", "BR-SP"),
        ("JP", "Tokyo", "JP-13"),
        ("CN", "Guangdong", "CN-GD"),
        ("KR", "Seoul", "KR-11"),
        ("MX", "CDMX", "MX-CMX"),
        ("ES", "Catalonia", "ES-CT"),
        ("ES", "Islas Baleares", "ES-IB"),
        ("FR", "Île-de-France", "FR-IDF"),
        ("FR", "ile de france", "FR-IDF"),
    ],
)
def test_states(country: str, state: str, code: str) -> None:
    result = norm(country=country, state=state)
    assert result["state_code"] == code
    assert "state_unknown" not in result["flags"]


@pytest.mark.parametrize(
    ("country", "state"),
    [
        ("US", "Narnia"),
        ("US", "ON"),  # Ontario is not a US state
        ("US", "CA-ON"),  # a full code from another country
        ("CA", "CA"),  # Canada has no subdivision "CA"
        ("GB", "London"),  # not the City of London (GB-LND)
        (None, "California"),  # no country: not guessed here, enrichment infers it
        (None, "CA"),
        (None, "US-ZZ"),
        ("Narnia", "California"),
    ],
)
def test_unknown_states_are_flagged(country: str | None, state: str) -> None:
    result = norm(country=country, state=state)
    assert result["state_code"] is None
    assert "state_unknown" in result["flags"]


def test_a_full_state_code_fills_a_missing_country() -> None:
    result = norm(state="US-CA")
    assert (result["country_code"], result["state_code"]) == ("US", "US-CA")
    assert result["flags"].count("state_unknown") == 0


def test_a_full_state_code_never_overrides_a_given_country() -> None:
    result = norm(country="Narnia", state="CA-ON")
    assert (result["country_code"], result["state_code"]) == (None, "CA-ON")
    assert "country_unknown" in result["flags"]


def test_a_state_name_never_sets_the_country() -> None:
    result = norm(state="Ontario")
    assert result["country_code"] is None


@pytest.mark.parametrize(
    ("postal", "expected"),
    [
        ("sw1a 1aa", "SW1A 1AA"),
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("94103", "94103"),
        ("94103-1234", "94103-1234"),
        ("10115", "10115"),
        ("k1a 0b1", "K1A 0B1"),
        ("75008,", "75008"),
        ("", None),
        ("n/a", None),
    ],
)
def test_postal_codes(postal: str, expected: str | None) -> None:
    assert norm(postal_code=postal)["postal_code"] == expected


def test_every_assigned_alpha_2_code_is_a_country_code() -> None:
    """Regression: name keys expand "st" to "saint", which once rejected São Tomé's "ST"."""
    import pycountry

    from processors.normalize.countries import is_country_code

    assert all(is_country_code(country.alpha_2) for country in pycountry.countries)
    assert not is_country_code("XX") and not is_country_code("st")


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("XK", "XK"),  # Kosovo: user-assigned, numbered by libphonenumber
        ("Kosovo", "XK"),
        ("AC", "AC"),  # Ascension Island
        ("EL", "GR"),  # the EU's code for Greece
        ("ZR", "CD"),  # Zaire's withdrawn code
        ("BU", "MM"),
        ("UK", "GB"),
    ],
)
def test_codes_outside_iso_that_numbering_plans_and_lists_use(country: str, code: str) -> None:
    result = norm(country=country)
    assert result["country_code"] == code
    assert "country_unknown" not in result["flags"]


def test_a_kosovo_lead_has_its_national_number_read() -> None:
    result = norm(country="XK", phone="028 012 345")
    assert "country_unknown" not in result["flags"]
    assert result["phone_e164"] == "+38328012345"
