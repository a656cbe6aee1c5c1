"""Builds the in-process router for batch routing, ``explain`` and ``simulate``.

The stream reads owners and routing state from Redis; these tools route
without a broker, so they take the owners from a file and decide with an
in-memory ledger that keeps the same semantics as the Redis one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from processors.config import ConfigError
from processors.enrichment.enricher import Enricher
from processors.owners.loader import parse_owners
from processors.owners.models import Owner
from processors.pipeline import Router
from processors.ports import Clock, CrmMirror, SystemClock
from processors.routing.ledger import AssignmentLedger
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet
from processors.rules.model import Route
from streams.routing.rules_source import default_rules, read_rules
from streams.settings import Settings

#: The example rule set and the team it names, shipped for the demo and for trying rules.
EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "processors" / "rules" / "data" / "example.yaml"
DEMO_OWNERS = Path(__file__).resolve().parents[1] / "data" / "demo-owners.yaml"


def read_owners(path: str | Path) -> list[Owner]:
    """Owners from a YAML or CSV file; ConfigError (file:line: reason) if unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(
            str(path), None, f"cannot read the owners file: {error.strerror or error}"
        ) from None
    return parse_owners(text, str(path))


def rules_for(settings: Settings, path: str | None = None) -> RuleSet:
    """The rules at ``path``, else LEADROUTE_RULES_FILE, else the default queue."""
    chosen = path or settings.rules_file
    if chosen:
        return read_rules(chosen)
    return default_rules(settings.default_queue, settings.default_channel)


def owners_for(settings: Settings, path: str | None = None) -> list[Owner]:
    chosen = path or settings.owners_file
    return read_owners(chosen) if chosen else []


def leaf_routes(rules: RuleSet) -> list[Route]:
    """Every route of the rule set, groups opened, in file order."""
    from processors.rules.model import Group

    found: list[Route] = []

    def visit(nodes: Sequence[Route | Group]) -> None:
        for node in nodes:
            if isinstance(node, Group):
                visit(node.children)
            else:
                found.append(node)

    visit(rules.routes)
    return found


def channels_of(rules: RuleSet) -> tuple[str, ...]:
    """Every channel the rule set can publish on (for the leads.assigned.<channel> topics)."""
    return tuple(dict.fromkeys([rules.default_channel, *(route.channel for route in leaf_routes(rules))]))


def in_process_router(
    settings: Settings,
    *,
    rules: RuleSet,
    owners: Sequence[Owner],
    mirror: CrmMirror | None = None,
    enricher: Enricher | None = None,
    ledger: AssignmentLedger | None = None,
    clock: Clock | None = None,
) -> Router:
    from processors.assign import StaticOwners
    from processors.crm.memory import InMemoryCrmMirror
    from streams.stages.enrich import build_enricher_for
    from streams.stages.match import matcher_for
    from streams.stages.segment import segmenter_for

    return Router(
        rules=rules,
        owners=StaticOwners(owners),
        ledger=ledger or InMemoryLedger(),
        clock=clock or SystemClock(),
        enricher=enricher or build_enricher_for(settings),
        matcher=matcher_for(settings),
        mirror=mirror or InMemoryCrmMirror(max_candidates=settings.match_name_candidates),
        segmenter=segmenter_for(settings),
        last_resort_queue=settings.default_queue,
        max_custom_bytes=settings.max_custom_bytes,
    )
