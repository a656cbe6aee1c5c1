"""What tests build again and again: the shipped enricher, the example rules and team, a router.

Built once per process where it is costly (an enricher takes ~0.1 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from processors.crm.matcher import Matcher
from processors.crm.memory import InMemoryCrmMirror
from processors.enrichment.enricher import Enricher
from processors.owners.memory import StaticOwners
from processors.owners.models import Owner
from processors.pipeline import Router
from processors.ports import Clock, CrmMirror
from processors.routing.ledger import AssignmentLedger
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet, load_rules
from processors.segmentation import shipped_segmenter
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES, read_owners
from streams.settings import Settings
from streams.wiring import build_enricher


@cache
def shipped_enricher(firmographics: str = "none") -> Enricher:
    """The enricher ``leadroute run enrich`` builds with default settings."""
    return build_enricher(Settings.from_env({}, firmographics=firmographics))


@cache
def example_rules() -> RuleSet:
    return load_rules(EXAMPLE_RULES.read_text(encoding="utf-8"), str(EXAMPLE_RULES))


@cache
def demo_owners() -> tuple[Owner, ...]:
    return tuple(read_owners(DEMO_OWNERS))


def rules(text: str) -> RuleSet:
    return load_rules(text, "test-rules.yaml")


def router(
    clock: Clock,
    *,
    rule_set: RuleSet | None = None,
    owners: Sequence[Owner] | None = None,
    ledger: AssignmentLedger | None = None,
    mirror: CrmMirror | None = None,
    firmographics: str = "none",
) -> Router:
    return Router(
        rules=rule_set or example_rules(),
        owners=StaticOwners(demo_owners() if owners is None else owners),
        ledger=ledger or InMemoryLedger(),
        clock=clock,
        enricher=shipped_enricher(firmographics),
        matcher=Matcher(),
        mirror=mirror or InMemoryCrmMirror(),
        segmenter=shipped_segmenter(),
        last_resort_queue="triage",
    )
