"""Email normalization on messy real-world input."""

from __future__ import annotations

import pytest

from processors.models import NormalizedSection
from processors.normalize import normalize_lead


def norm(**fields: str | None) -> NormalizedSection:
    return normalize_lead(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "email", "host", "domain", "match_key"),
    [
        (
            " John.Doe@Example.COM ",
            "john.doe@example.com",
            "example.com",
            "example.com",
            "john.doe@example.com",
        ),
        (
            "john . doe @ acme.co.uk",
            "john.doe@acme.co.uk",
            "acme.co.uk",
            "acme.co.uk",
            "john.doe@acme.co.uk",
        ),
        (
            "JANE@SALES.ACME.CO.UK",
            "jane@sales.acme.co.uk",
            "sales.acme.co.uk",
            "acme.co.uk",
            "jane@sales.acme.co.uk",
        ),
        (
            "J.O.H.N+promo@Gmail.com",
            "j.o.h.n+promo@gmail.com",
            "gmail.com",
            "gmail.com",
            "john@gmail.com",
        ),
        (
            "jane.doe@googlemail.com",
            "jane.doe@googlemail.com",
            "googlemail.com",
            "googlemail.com",
            "janedoe@gmail.com",
        ),
        (
            "sales+newsletter@acme.io",
            "sales+newsletter@acme.io",
            "acme.io",
            "acme.io",
            "sales@acme.io",
        ),
        # dots only matter for gmail; elsewhere they are kept in the key
        (
            "first.last@outlook.com",
            "first.last@outlook.com",
            "outlook.com",
            "outlook.com",
            "first.last@outlook.com",
        ),
        ("josé@bücher.de", "josé@bücher.de", "bücher.de", "bücher.de", "josé@bücher.de"),
        # punycode hosts come out in Unicode, like typed Unicode hosts
        ("user@xn--bcher-kva.de", "user@bücher.de", "bücher.de", "bücher.de", "user@bücher.de"),
        ("Pelé@Exämple.com", "pelé@exämple.com", "exämple.com", "exämple.com", "pelé@exämple.com"),
        ("mailto:Sales@Acme.io", "sales@acme.io", "acme.io", "acme.io", "sales@acme.io"),
        ("<info@acme.com>", "info@acme.com", "acme.com", "acme.com", "info@acme.com"),
        ("Jane Doe <Jane@Acme.com>", "jane@acme.com", "acme.com", "acme.com", "jane@acme.com"),
        ("\u200binfo@acme.com\ufeff", "info@acme.com", "acme.com", "acme.com", "info@acme.com"),
        # a valid address on an unknown TLD: valid syntax, but no registrable domain
        (
            "john@foo.notarealtld",
            "john@foo.notarealtld",
            "foo.notarealtld",
            None,
            "john@foo.notarealtld",
        ),
    ],
)
def test_valid_emails(raw: str, email: str, host: str, domain: str | None, match_key: str) -> None:
    result = norm(email=raw)
    assert result["email"] == email
    assert result["email_valid"] is True
    assert result["email_host"] == host
    assert result["email_domain"] == domain
    assert result["email_match_key"] == match_key
    assert "email_invalid" not in result["flags"]
    assert "email_missing" not in result["flags"]


@pytest.mark.parametrize(
    "raw",
    [
        "john@acme",
        "john@@acme.com",
        "a..b@acme.com",
        "plainaddress",
        "@acme.com",
        "john@",
        "john@localhost",
        "john@[192.168.0.1]",
        "a@b@c.com",
        "john@acme..com",
        "jane@acme.com; bob@acme.com",
    ],
)
def test_invalid_emails_keep_nothing_and_are_flagged(raw: str) -> None:
    result = norm(email=raw)
    assert result["email"] is None
    assert result["email_valid"] is False
    assert result["email_host"] is None
    assert result["email_domain"] is None
    assert result["email_match_key"] is None
    assert "email_invalid" in result["flags"]


@pytest.mark.parametrize("raw", [None, "", "   ", "N/A", "none", "\u200b"])
def test_missing_emails_are_flagged_missing(raw: str | None) -> None:
    result = norm(email=raw)
    assert result["email"] is None
    assert "email_missing" in result["flags"]
    assert "email_invalid" not in result["flags"]


def test_plus_tag_and_gmail_dots_share_one_match_key() -> None:
    keys = {
        norm(email=raw)["email_match_key"]
        for raw in ("johndoe@gmail.com", "John.Doe+work@GMAIL.com", "j.o.h.n.d.o.e@googlemail.com")
    }
    assert keys == {"johndoe@gmail.com"}
