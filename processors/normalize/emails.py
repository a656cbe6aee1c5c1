"""Email addresses: syntax check, canonical form and a key for de-duplication.

Deliverability (DNS) is never checked here: normalization must be pure and
fast, and a dead mail server is an enrichment concern, not a format one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email

from processors.normalize.domains import registrable_domain

#: Mailbox providers that ignore dots in the local part; googlemail.com is
#: the same mailbox namespace as gmail.com.
_GMAIL_HOSTS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})


class EmailResult(NamedTuple):
    """A valid address and what is derived from it."""

    email: str
    host: str
    domain: str | None
    match_key: str


def _strip_wrapping(text: str) -> str:
    """Drop what mail clients paste around an address.

    A "mailto:" prefix, and a display name with angle brackets
    ("Jane Doe <jane@acme.com>" keeps "jane@acme.com").
    """
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]
    if text[:7].casefold() == "mailto:":
        text = text[7:]
    return text


def match_key(local: str, host: str) -> str:
    """Key that equal mailboxes share: "+tag" dropped, gmail dots ignored."""
    base = local.split("+", 1)[0] or local
    if host in _GMAIL_HOSTS:
        base = base.replace(".", "") or base
        host = "gmail.com"
    return f"{base}@{host}"


@lru_cache(maxsize=16384)
def normalize_email(text: str) -> EmailResult | None:
    """Canonical lower-case address, or None when the syntax is invalid.

    Whitespace anywhere is removed first: forms and OCR insert spaces
    ("john . doe @ acme.com") far more often than they are meant.
    Internationalised addresses are accepted (SMTPUTF8).
    """
    candidate = _strip_wrapping("".join(text.split())).lower()
    if not candidate:
        return None
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except (EmailNotValidError, UnicodeError, ValueError):
        return None
    local = checked.local_part.lower()
    host = checked.domain.lower()
    return EmailResult(
        email=f"{local}@{host}",
        host=host,
        domain=registrable_domain(host),
        match_key=match_key(local, host),
    )
