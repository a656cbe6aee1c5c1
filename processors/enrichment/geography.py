"""Country hints from a domain's country-code top-level domain.

"acme.de" is very probably a German company; "acme.io" says nothing, since
.io, .co, .ai and friends are sold worldwide as vanity names. The hint is
weak (a German domain does not put the lead in Germany), so it only fills a
country no stronger source gave.
"""

from __future__ import annotations

from functools import lru_cache

from processors.normalize.countries import is_country_code

#: Country-code TLDs marketed as generic names; they carry no location.
VANITY_TLDS: frozenset[str] = frozenset(
    {
        "ac", "ad", "ag", "ai", "am", "as", "bz", "cc", "cd", "cf", "co", "cx", "dj", "fm", "ga",
        "gg", "gl", "gq", "gs", "hn", "im", "io", "je", "la", "li", "ly", "me", "mn", "ms", "mu",
        "nu", "pw", "sc", "sh", "so", "st", "sx", "tk", "tm", "to", "tv", "vc", "vg", "ws",
    }
)  # fmt: skip
#: TLDs whose letters differ from the ISO code of their country.
_TLD_COUNTRY: dict[str, str] = {"uk": "GB"}
#: Confidence of a ccTLD hint: a company's domain, not the person's location.
CCTLD_CONFIDENCE = 0.6


@lru_cache(maxsize=65536)
def country_from_domain(domain: str) -> str | None:
    """ISO alpha-2 of a domain's country-code TLD, or None for generic and vanity TLDs."""
    tld = domain.rsplit(".", 1)[-1].lower()
    if len(tld) != 2 or not tld.isascii() or tld in VANITY_TLDS:
        return None
    country = _TLD_COUNTRY.get(tld, tld.upper())
    return country if is_country_code(country) else None
