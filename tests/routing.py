"""Routers built from the shipped example rules and demo team, shared by tests."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from processors.assign import StaticOwners
from processors.crm.matcher import Matcher
from processors.crm.memory import InMemoryCrmMirror
from processors.owners.models import Owner
from processors.pipeline import Router
from processors.ports import Clock, CrmMirror
from processors.routing.ledger import AssignmentLedger
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet, load_rules
from processors.segmentation import shipped_segmenter
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES, read_owners
from tests.enrichers import shipped_enricher


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
