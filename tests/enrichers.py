"""Enrichers built from the shipped reference data, shared by tests (built once: ~0.1 s each)."""

from __future__ import annotations

from functools import cache

from processors.enrichment.enricher import Enricher
from streams.settings import Settings
from streams.wiring import build_enricher


@cache
def shipped_enricher(firmographics: str = "none") -> Enricher:
    """The enricher ``leadroute run enrich`` builds with default settings."""
    return build_enricher(Settings.from_env({}, firmographics=firmographics))
