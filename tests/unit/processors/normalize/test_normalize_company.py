"""Company names, match keys and websites."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("company", "name", "key"),
    [
        ("ACME Incorporated", "ACME Incorporated", "acme"),
        ("Acme, Inc.", "Acme, Inc.", "acme"),
        ("acme inc", "Acme Inc", "acme"),
        ("  ACME   HOLDINGS LTD ", "ACME Holdings Ltd", "acme holdings"),
        ("IBM", "IBM", "ibm"),
        ("SAP SE", "SAP SE", "sap"),
        ("BMW GROUP", "BMW Group", "bmw group"),
        ("BANK OF AMERICA", "Bank of America", "bank of america"),
        ("THE COCA-COLA COMPANY", "The Coca-Cola Company", "coca cola"),
        ("johnson & johnson", "Johnson & Johnson", "johnson and johnson"),
        ("Procter & Gamble Co.", "Procter & Gamble Co.", "procter and gamble"),
        ("Société Générale S.A.", "Société Générale S.A.", "societe generale"),
        ("SOCIÉTÉ GÉNÉRALE", "Société Générale", "societe generale"),
        ("McDonald's Corporation", "McDonald's Corporation", "mcdonalds"),
        ("MCKINSEY & COMPANY", "McKinsey & Company", "mckinsey"),
        ("o'reilly media", "O'Reilly Media", "oreilly media"),
        ("Yahoo!", "Yahoo!", "yahoo"),
        ("eBay Inc.", "eBay Inc.", "ebay"),
        ("Acme (UK) Ltd", "Acme (UK) Ltd", "acme uk"),
        ('"Acme Corp",', "Acme Corp", "acme"),
        ("acme corporation limited", "Acme Corporation Limited", "acme"),
        ("Müller GmbH & Co. KG", "Müller GmbH & Co. KG", "muller"),
        ("MÜLLER GMBH", "Müller GmbH", "muller"),
        ("ACME S.A. DE C.V.", "ACME S.A. DE C.V.", "acme"),
        ("Acme...", "Acme", "acme"),
        ("- Acme Pty Ltd -", "Acme Pty Ltd", "acme"),
        ("株式会社トヨタ", "株式会社トヨタ", "株式会社トヨタ"),
    ],
)
def test_company_names_and_match_keys(company: str, name: str, key: str) -> None:
    result = norm(company=company)
    assert result["company_name"] == name
    assert result["company_match_key"] == key
    assert "company_missing" not in result["flags"]


def test_spellings_of_one_company_share_a_key() -> None:
    spellings = ("ACME Incorporated", "Acme, Inc.", "acme inc", "ACME INC.", "Acme Corp", "Acme")
    assert {norm(company=s)["company_match_key"] for s in spellings} == {"acme"}


@pytest.mark.parametrize("company", [None, "", "   ", "N/A", "none", "---", "-"])
def test_missing_company_is_flagged(company: str | None) -> None:
    result = norm(company=company)
    assert result["company_name"] is None
    assert result["company_match_key"] is None
    assert "company_missing" in result["flags"]


@pytest.mark.parametrize(
    ("website", "host", "domain"),
    [
        ("http://WWW.Acme.com/about", "www.acme.com", "acme.com"),
        ("acme.com", "acme.com", "acme.com"),
        ("www.acme.io", "www.acme.io", "acme.io"),
        ("https://www.acme.co.uk/", "www.acme.co.uk", "acme.co.uk"),
        ("ACME.COM.", "acme.com", "acme.com"),
        ("http://acme.com:8080/x?y=1#z", "acme.com", "acme.com"),
        ("//cdn.acme.com/lib.js", "cdn.acme.com", "acme.com"),
        ("bücher.de", "bücher.de", "bücher.de"),
        ("https://xn--bcher-kva.de", "bücher.de", "bücher.de"),
        # private PSL suffixes: each customer of a platform is its own domain
        ("acme.github.io", "acme.github.io", "acme.github.io"),
        ("blog.acme.blogspot.com", "blog.acme.blogspot.com", "acme.blogspot.com"),
    ],
)
def test_websites(website: str, host: str, domain: str) -> None:
    result = norm(website=website)
    assert (result["website"], result["website_domain"]) == (host, domain)
    assert "website_invalid" not in result["flags"]


@pytest.mark.parametrize(
    "website",
    [
        "localhost",
        "192.168.0.1",
        "not a website",
        "john@acme.com",
        "acme",
        "co.uk",
        "http://",
        "www.acme",
        "https://acme.notatld",
        "http://[::1]/",
    ],
)
def test_garbage_websites_are_flagged(website: str) -> None:
    result = norm(website=website)
    assert (result["website"], result["website_domain"]) == (None, None)
    assert "website_invalid" in result["flags"]


def test_missing_website_is_not_flagged() -> None:
    assert "website_invalid" not in norm(website="  ")["flags"]
