"""Company websites reduced to their host and registrable domain.

Scheme, path, query, port and trailing dot or slash carry no routing value,
so the normalized website is the bare lower-case host ("www.acme.co.uk");
``website_domain`` ("acme.co.uk") is what matching and enrichment use.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from processors.normalize.domains import canonical_host, registrable_domain

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://|^//", re.IGNORECASE)
_PATH_START = re.compile(r"[/?#\\]")
_PORT = re.compile(r":\d{1,5}$")


class WebsiteResult(NamedTuple):
    """Host and registrable domain of a valid website."""

    host: str
    domain: str


def _host_part(text: str) -> str:
    """The host out of a URL-ish string; may still be garbage."""
    text = _SCHEME.sub("", text.strip(), count=1)
    text = _PATH_START.split(text, 1)[0]
    text = _PORT.sub("", text)
    return text.rstrip(".")


@lru_cache(maxsize=16384)
def normalize_website(text: str) -> WebsiteResult | None:
    """Host and registrable domain, or None when ``text`` names no public host.

    An "@" (an email pasted into the website field), a space or a host
    without a public suffix make it invalid; the raw value stays in the
    raw section of the lead.
    """
    host = _host_part(text)
    if not host or "@" in host or " " in host or ":" in host:
        return None
    canonical = canonical_host(host)
    if canonical is None:
        return None
    domain = registrable_domain(canonical)
    if domain is None:
        return None
    return WebsiteResult(host=canonical, domain=domain)
