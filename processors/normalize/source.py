"""Lead source labels mapped onto the fixed vocabulary ``models.SOURCES``.

Matching is exact on a folded key (case, accents, spaces and punctuation
ignored, so "Web-Form", "web form" and "WEBFORM" are one label). Fuzzy or
substring matching is avoided on purpose: "trade show list" is a list
import while "trade show" is an event, and a wrong guess would silently
misroute leads. Unknown labels become "other" and are flagged.
"""

from __future__ import annotations

from functools import lru_cache

from processors.models import SOURCES
from processors.normalize.text import fold_key

#: Source label -> vocabulary value. Every vocabulary value maps to itself.
ALIASES: dict[str, str] = {
    **{source: source for source in SOURCES},
    # web
    "Web": "web", "web form": "web", "webform": "web", "website": "web",
    "web site": "web", "landing page": "web", "inbound": "web", "form": "web",
    "contact form": "web", "online": "web", "organic": "web",
    # manual
    "manual": "manual", "manual entry": "manual", "sales": "manual", "crm": "manual",
    "manually entered": "manual", "sales rep": "manual",
    # list_import
    "list": "list_import", "list import": "list_import", "import": "list_import",
    "csv": "list_import", "csv import": "list_import", "upload": "list_import",
    "file upload": "list_import", "trade show list": "list_import",
    "tradeshow list": "list_import", "purchased list": "list_import",
    "bulk import": "list_import",
    # api
    "api": "api", "integration": "api", "webhook": "api", "zapier": "api",
    # partner
    "partner": "partner", "referral": "partner", "reseller": "partner",
    "partner referral": "partner", "channel partner": "partner", "affiliate": "partner",
    # event
    "event": "event", "webinar": "event", "conference": "event",
    "trade show": "event", "tradeshow": "event", "trade fair": "event",
    "expo": "event", "meetup": "event", "workshop": "event",
    # chat
    "chat": "chat", "chatbot": "chat", "chat bot": "chat", "live chat": "chat",
    "drift": "chat", "intercom": "chat", "whatsapp": "chat",
}  # fmt: skip

_TABLE: dict[str, str] = {fold_key(label): source for label, source in ALIASES.items()}


@lru_cache(maxsize=1024)
def source_for(text: str) -> str | None:
    """Vocabulary value for a source label; None when the label is unknown."""
    return _TABLE.get(fold_key(text))
