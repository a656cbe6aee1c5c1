"""Person names and job titles."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("JOHN", "John"),
        ("john", "John"),
        ("  mary   ann  ", "Mary Ann"),
        ("MCDONALD", "McDonald"),
        ("mcdonald", "McDonald"),
        ("MACLEOD", "MacLeod"),
        ("macdonald", "MacDonald"),
        # "Mac" only for known stems: these are not Mac + name
        ("MACK", "Mack"),
        ("MACHADO", "Machado"),
        ("MACIAS", "Macias"),
        ("VAN DER BERG", "van der Berg"),
        ("van der berg", "van der Berg"),
        ("DE LA CRUZ", "de la Cruz"),
        ("DA SILVA", "da Silva"),
        ("O'NEIL", "O'Neil"),
        ("o'neil", "O'Neil"),
        ("O’BRIEN", "O’Brien"),
        ("JEAN-LUC", "Jean-Luc"),
        ("D'ARTAGNAN", "d'Artagnan"),
        ("SMITH III", "Smith III"),
        ("JOSÉ", "José"),
        ("ŁUKASZ", "Łukasz"),
        ("ÇELIK", "Çelik"),
        ("john.", "John"),
        ('"Bob"', "Bob"),
        # mixed case is the person's own spelling and is kept
        ("McDonald", "McDonald"),
        ("DeAndre", "DeAndre"),
        ("MacKenzie", "MacKenzie"),
        ("da Silva", "da Silva"),
        ("José", "José"),
        ("Łukasz", "Łukasz"),
        # non-Latin scripts: whitespace only
        ("山田", "山田"),
        ("Иван", "Иван"),
        ("ИВАН", "ИВАН"),
        ("محمد", "محمد"),
        ("  山田   太郎 ", "山田 太郎"),
    ],
)
def test_names(raw: str, expected: str) -> None:
    result = norm(first_name=raw, last_name=raw)
    assert result["first_name"] == expected
    assert result["last_name"] == expected
    assert result["full_name"] == f"{expected} {expected}"


@pytest.mark.parametrize(
    ("first", "last", "full"),
    [
        ("JANE", "DOE", "Jane Doe"),
        ("Jane", None, "Jane"),
        (None, "o'neil", "O'Neil"),
        ("", "Doe", "Doe"),
        ("N/A", "Doe", "Doe"),
    ],
)
def test_full_name_joins_what_exists(first: str | None, last: str | None, full: str) -> None:
    result = norm(first_name=first, last_name=last)
    assert result["full_name"] == full
    assert "name_missing" not in result["flags"]


@pytest.mark.parametrize(("first", "last"), [(None, None), ("", "  "), ("-", "N/A"), (".", "?")])
def test_no_name_is_flagged(first: str | None, last: str | None) -> None:
    result = norm(first_name=first, last_name=last)
    assert (result["first_name"], result["last_name"], result["full_name"]) == (None, None, None)
    assert "name_missing" in result["flags"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("VP OF SALES", "VP of Sales"),
        ("vp of sales", "VP of Sales"),
        ("CEO", "CEO"),
        ("ceo", "CEO"),
        ("head of it", "Head of IT"),
        ("HEAD OF IT", "Head of IT"),
        ("CHIEF EXECUTIVE OFFICER", "Chief Executive Officer"),
        ("  Senior   Software Engineer ", "Senior Software Engineer"),
        ("sr. manager, r&d", "Sr. Manager, R&D"),
        ("DIRECTOR - EMEA", "Director - EMEA"),
        ("  cto / co-founder  ", "CTO / Co-Founder"),
        ("MARKETING MANAGER (DACH)", "Marketing Manager (DACH)"),
        ("saas account executive", "SaaS Account Executive"),
        ("***Owner***", "Owner"),
        ("eCommerce Lead", "eCommerce Lead"),
        ("Directeur Général", "Directeur Général"),
        ("N/A", None),
    ],
)
def test_titles(raw: str, expected: str | None) -> None:
    assert norm(title=raw)["title"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Software   &  IT ", "Software & IT"), ("Retail\n", "Retail"), ("n/a", None)],
)
def test_industry_is_only_tidied(raw: str, expected: str | None) -> None:
    assert norm(industry=raw)["industry"] == expected
