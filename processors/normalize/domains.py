"""Host names and registrable domains, shared by the email and website fields.

Both fields go through the same IDNA rules (email-validator's) and the same
Public Suffix List lookup, so an email host and a website that name the same
domain always compare equal downstream.
"""

from __future__ import annotations

import re
from functools import lru_cache

import tldextract
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

#: Letters-digits-hyphens host names, ending in a letter, with no "--" (so no
#: punycode): for these, email-validator's verdict is "valid, lower-cased".
#: The length cap keeps "website@" + host within the email length limit.
_PLAIN_ASCII_HOST = re.compile(
    r"^(?=.{4,200}$)(?!.*--)"  # length; no "--" anywhere
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"  # labels
    r"[a-z](?:[a-z0-9-]{0,61}[a-z])?$"  # TLD: starts and ends with a letter
)
#: Top-level labels of the special-use names email-validator rejects
#: ("localhost", "local", "test", "invalid", "arpa", ...): slow path.
_SPECIAL_USE_TLDS: frozenset[str] = frozenset(name.rsplit(".", 1)[-1] for name in SPECIAL_USE_DOMAIN_NAMES)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    """tldextract on its bundled PSL snapshot only.

    ``suffix_list_urls=()`` disables every HTTP fetch and ``cache_dir=None``
    disables the on-disk cache, so a lead never waits on the network and
    the process never writes outside its own memory. The snapshot is pinned
    by the installed tldextract version, which keeps results deterministic.

    The PSL's private section is included: "acme.github.io" and
    "shop.myshopify.com" belong to different companies than GitHub or
    Shopify, and merging them under the platform's domain would make
    unrelated leads match.
    """
    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        fallback_to_snapshot=True,
        include_psl_private_domains=True,
    )


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """The domain a company registers ("acme.co.uk" for "www.acme.co.uk").

    None when the host has no public suffix (IP addresses, "localhost",
    unknown TLDs) or is itself a public suffix ("co.uk").
    """
    parts = _extractor()(host)
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}"


@lru_cache(maxsize=65536)
def canonical_host(host: str) -> str | None:
    """Validated host in lower-case Unicode form, or None if it is not a host.

    Validation is email-validator's domain check (via its public
    ``validate_email`` with a fixed local part), so hosts are judged exactly
    like the part after the "@" of an email: UTS-46 mapping, IDNA 2008,
    punycode decoded to Unicode. Plain ASCII host names, the vast majority,
    take a fast path that accepts exactly what that check accepts for them.
    """
    if host.isascii():
        lowered = host.lower()
        if _PLAIN_ASCII_HOST.match(lowered) and lowered.rsplit(".", 1)[1] not in _SPECIAL_USE_TLDS:
            return lowered
    try:
        checked = validate_email("website@" + host, check_deliverability=False)
    except (EmailNotValidError, UnicodeError, ValueError):
        return None
    return checked.domain.lower()
