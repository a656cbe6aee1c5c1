"""Emails and websites → company domain, free-mail, disposable, role; ccTLD country hints."""

from __future__ import annotations

import pytest

from processors.enrichment.emails import (
    ROLE_LOCAL_PARTS,
    DomainLists,
    domain_facts,
    free_mail_brands,
    is_role_address,
)
from processors.enrichment.geography import country_from_domain
from processors.normalize.emails import normalize_email
from processors.normalize.website import normalize_website

LISTS = DomainLists()


def _facts(email: str | None, website: str | None = None, lists: DomainLists = LISTS):
    parsed = normalize_email(email) if email else None
    site = normalize_website(website) if website else None
    return domain_facts(
        email=parsed.email if parsed else None,
        email_host=parsed.host if parsed else None,
        email_domain=parsed.domain if parsed else None,
        website_domain=site.domain if site else None,
        lists=lists,
    )


FREE_MAIL = [
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
    "yahoo.com", "yahoo.co.jp", "yahoo.co.uk", "aol.com", "icloud.com", "me.com", "web.de",
    "gmx.de", "gmx.net", "t-online.de", "qq.com", "163.com", "126.com", "naver.com", "mail.ru",
    "yandex.ru", "orange.fr", "free.fr", "libero.it", "seznam.cz", "wp.pl", "o2.pl",
    "rediffmail.com", "uol.com.br", "bol.com.br", "protonmail.com", "proton.me", "zoho.com",
]  # fmt: skip


@pytest.mark.parametrize("domain", FREE_MAIL)
def test_free_mail_users_give_no_company_domain(domain: str) -> None:
    facts = _facts(f"jane.doe@{domain}")
    assert facts.free_mail is True
    assert facts.company_domain is None
    assert facts.email_domain == domain


@pytest.mark.parametrize(
    "domain", ["mailinator.com", "10minutemail.com", "guerrillamail.com", "yopmail.com", "trashmail.com"]
)
def test_disposable_addresses_are_flagged_and_give_no_company_domain(domain: str) -> None:
    facts = _facts(f"x@{domain}")
    assert facts.disposable is True
    assert facts.company_domain is None


@pytest.mark.parametrize(
    ("email", "website", "company", "source"),
    [
        ("jane@acme.io", None, "acme.io", "email_domain"),
        ("jane@mail.acme.co.uk", None, "acme.co.uk", "email_domain"),
        ("jane@eu.sales.acme.com", None, "acme.com", "email_domain"),
        ("jane@acme.io", "https://www.acme-group.com/about", "acme-group.com", "website"),
        ("jane@gmail.com", "acme.de", "acme.de", "website"),
        ("jane@gmail.com", "gmail.com", None, None),  # a free-mail "website" is no company
        (None, "https://shop.acme.com.au", "acme.com.au", "website"),
        ("jane@acme.github.io", None, "acme.github.io", "email_domain"),  # private suffix: its own company
        (None, None, None, None),
    ],
)
def test_company_domain_prefers_the_website(
    email: str | None, website: str | None, company: str | None, source: str | None
) -> None:
    facts = _facts(email, website)
    assert (facts.company_domain, facts.company_domain_source) == (company, source)


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("info@acme.com", True),
        ("sales@acme.com", True),
        ("admin@acme.com", True),
        ("noreply@acme.com", True),
        ("no-reply@acme.com", True),
        ("no_reply@acme.com", True),
        ("support+tickets@acme.com", True),
        ("kontakt@acme.de", True),
        ("jane.doe@acme.com", False),
        ("sales.jane@acme.com", False),
        ("j.smith@acme.com", False),
    ],
)
def test_role_addresses(email: str, role: bool) -> None:
    assert is_role_address(email) is role


def test_a_deployment_can_extend_and_exempt_lists() -> None:
    lists = LISTS.extended(free_mail=["mail.example-isp.net"], disposable=["burner.test-mail.org"])
    assert _facts("a@mail.example-isp.net", lists=lists).free_mail is True
    assert _facts("a@burner.test-mail.org", lists=lists).disposable is True
    own = LISTS.extended(business=["zoho.com"])  # a company whose own domain is also a mail service
    facts = _facts("jane@zoho.com", lists=own)
    assert facts.free_mail is False and facts.company_domain == "zoho.com"


def test_the_lists_are_maintained_ones_not_a_handful() -> None:
    assert len(LISTS.free_mail) > 3000 and len(LISTS.disposable) > 5000


@pytest.mark.parametrize(
    ("domain", "country"),
    [
        ("acme.de", "DE"),
        ("acme.co.uk", "GB"),
        ("acme.uk", "GB"),
        ("acme.fr", "FR"),
        ("acme.com.br", "BR"),
        ("acme.co.jp", "JP"),
        ("acme.com.au", "AU"),
        ("acme.nl", "NL"),
        ("acme.ch", "CH"),
        ("acme.com", None),
        ("acme.io", None),  # vanity ccTLDs carry no location
        ("acme.co", None),
        ("acme.ai", None),
        ("acme.tv", None),
        ("acme.me", None),
        ("acme.eu", None),  # not a country
        ("acme.org", None),
    ],
)
def test_country_code_tlds_hint_a_country(domain: str, country: str | None) -> None:
    assert country_from_domain(domain) == country


@pytest.mark.parametrize(
    "domain",
    ["aol.co.uk", "aol.fr", "gmx.co.uk", "gmx.fr", "hotmail.be", "hotmail.no", "yahoo.co.id", "web.de"],
)
def test_free_mail_providers_country_domains_are_listed(domain: str) -> None:
    assert _facts(f"jane@{domain}").free_mail is True


@pytest.mark.parametrize("domain", ["live.com.my", "hotmail.com.hk", "outlook.com.ar", "gmx.com.tr"])
def test_a_free_mail_brands_other_country_domains_are_free_mail(domain: str) -> None:
    facts = _facts(f"jane@{domain}")
    assert facts.free_mail is True and facts.company_domain is None


def test_brands_are_names_with_many_country_domains_in_the_list() -> None:
    listed = ["acme.de", "acme.fr", "mailco.de", "mailco.fr", "mailco.co.uk", "mailco.com", "mailco.net"]
    assert free_mail_brands(listed, min_countries=3) == {"mailco"}
    assert _facts("jane@hotmail-consulting.co.uk").free_mail is False  # another name
    assert _facts("jane@hotmail.dev").free_mail is False  # not a country domain
    own = LISTS.extended(business=["hotmail.com.hk"])
    assert _facts("jane@hotmail.com.hk", lists=own).free_mail is False


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("accounting@acme.com", True),  # from the maintained list
        ("webinars@acme.com", True),
        ("Recruiting@acme.com", True),  # case does not matter
        ("noreply-invoices@acme.com", True),
        ("invoices_noreply@acme.com", True),
        ("do.not.reply@acme.com", True),
        ("DoNotReply@acme.com", True),
        ("shipping-alerts@acme.com", True),
        ("build-bot@acme.com", True),
        ("support-team@acme.com", True),
        ("sales.de@acme.com", True),
        ("info-2@acme.com", True),
        ("sales.jane@acme.com", False),  # a role word, then a name
        ("maria.garcia@acme.com", False),
        ("pkowalski@acme.com", False),
        ("noor@acme.com", False),
    ],
)
def test_role_addresses_from_the_maintained_list_and_affixes(email: str, role: bool) -> None:
    assert is_role_address(email) is role


def test_the_role_list_is_the_maintained_one() -> None:
    assert len(ROLE_LOCAL_PARTS) > 1000
