"""The assign stage writes events around the lead's bytes.

The shortcut must be invisible: an event that any Avro reader reads as the fully
encoded one.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from processors.assign import assign_many
from processors.crm.matcher import Matcher
from processors.crm.memory import InMemoryCrmMirror
from processors.intake import raw_lead_from_json
from processors.lead import stamped
from processors.models import Lead
from processors.owners.memory import StaticOwners
from processors.pipeline import enrich_stage, match_stage, normalize_stage, segment_stage
from processors.ports import FrozenClock
from processors.routing.memory_ledger import InMemoryLedger
from processors.rules import RuleSet
from processors.segmentation import shipped_segmenter
from streams.crm.synthetic import generate_crm
from streams.demo.synthetic import generate
from streams.routing.rules_source import RulesSource
from streams.routing.writer import AssignmentWriter
from streams.serde import SCHEMA_HEADER, AvroCodec
from streams.settings import Settings
from streams.stages import assign
from streams.stages.base import OUTPUT, Message
from tests.support.builders import demo_owners, example_rules, rules, shipped_enricher

CLOCK = FrozenClock(1_795_000_000_000)
LEAD = AvroCodec("Lead")
ASSIGNMENT = AvroCodec("Assignment")

#: A rule set that reads through an array, a map, a whole record, skills and both CRM owners.
WIDE_RULES = """
version: 1
defaults: {channel: sales, fallback: [{queue: triage}]}
pools:
  speakers:
    strategy: round_robin
    members: [ana.ruiz, ben.okafor, carla.mendes]
    skill_from: enrichment.sub_region
routes:
  - name: big deals
    when: {field: crm.open_opportunities.amount, range: {min: 50000}}
    assign: {account_owner: true}
    fallback: [{pool: speakers}]
  - name: custom tier
    when: {field: raw.custom.tier, equals: gold}
    assign: {existing_owner: true}
    fallback: [{queue: gold}]
  - name: has account
    when: {exists: crm.account}
    assign: {account_owner: true}
  - name: everyone
    assign: {pool: speakers}
"""


@cache
def segmented_leads() -> tuple[Lead, ...]:
    """Synthetic leads through the stages before assign, 60% at known CRM accounts."""
    mirror = InMemoryCrmMirror()
    for kind, record in generate_crm(3000, seed=5, demo_seed=5, demo_share=0.6):
        mirror.upsert(kind, record)
    enricher = shipped_enricher("none")
    leads = []
    for message in generate(400, seed=5, invalid_share=0, garbage_share=0):
        raw = raw_lead_from_json(message.payload)
        lead = normalize_stage(raw, received_at_ms=CLOCK.now_ms(), clock=CLOCK)
        leads.append(enrich_stage(lead, enricher=enricher, clock=CLOCK))
    leads = match_stage(leads, matcher=Matcher(), mirror=mirror, clock=CLOCK)
    segmenter = shipped_segmenter()
    return tuple(segment_stage(lead, segmenter=segmenter, clock=CLOCK) for lead in leads)


def _stage(rule_set: RuleSet) -> Any:
    return assign.build_step(
        Settings(default_queue="triage"),
        CLOCK,
        ledger=InMemoryLedger(),
        owners=StaticOwners(demo_owners()),
        rules=RulesSource(None, fallback=rule_set),
    )


def test_a_record_with_bytes_after_the_lead_is_dead_lettered() -> None:
    data = LEAD.encode(segmented_leads()[0]) + b"\x00"
    [routed] = _stage(example_rules())([Message(data, None, [], "leads.segmented", 0, 0, 0)])
    assert routed.destination != OUTPUT and routed.error_code == "undecodable"


def test_a_lead_from_another_schema_version_is_dead_lettered() -> None:
    data = LEAD.encode(segmented_leads()[0])
    message = Message(data, None, [(SCHEMA_HEADER, b"0" * 16)], "leads.segmented", 0, 0, 0)
    [routed] = _stage(example_rules())([message])
    assert routed.destination != OUTPUT and routed.error_code == "schema_mismatch"


def _full_assignments(leads: list[Lead], rule_set: RuleSet, stage_now: int) -> list[dict[str, Any]]:
    """What the stage must write: every lead decided whole, stamped, fully encoded."""
    stamped_leads = [stamped(lead, assign.NAME, stage_now) for lead in leads]
    return assign_many(
        stamped_leads,
        rules=rule_set,
        owners=StaticOwners(demo_owners()),
        ledger=InMemoryLedger(),
        clock=CLOCK,
        last_resort_queue="triage",
        duplicate_window_s=Settings().duplicate_window_days * 86_400,  # as the stage does by default
    )


def test_the_writer_output_reads_as_the_fully_encoded_event() -> None:
    writer = AssignmentWriter()
    leads = list(segmented_leads()[:50])
    for lead, event in zip(leads, _full_assignments(leads, example_rules(), 42), strict=True):
        spliced = writer.encode(event, LEAD.encode(lead), {"stage": assign.NAME, "at_ms": 42})
        assert ASSIGNMENT.decode(spliced) == ASSIGNMENT.decode(ASSIGNMENT.encode(event))
        unstamped = writer.encode(event, LEAD.encode(lead), None)
        assert ASSIGNMENT.decode(unstamped)["lead"] == LEAD.decode(LEAD.encode(lead))


def test_the_writer_refuses_bytes_that_do_not_end_a_lead() -> None:
    event = _full_assignments(list(segmented_leads()[:1]), example_rules(), 42)[0]
    with pytest.raises(ValueError, match="closing block"):
        AssignmentWriter().encode(
            event, LEAD.encode(segmented_leads()[0]) + b"\x01", {"stage": "a", "at_ms": 1}
        )


@pytest.mark.parametrize("rule_set", [example_rules(), rules(WIDE_RULES)], ids=["example", "wide"])
def test_the_stage_writes_what_deciding_whole_leads_would(rule_set: RuleSet) -> None:
    leads = list(segmented_leads())
    step = assign.build_step(
        Settings(default_queue="triage"),
        CLOCK,
        ledger=InMemoryLedger(),
        owners=StaticOwners(demo_owners()),
        rules=RulesSource(None, fallback=rule_set),
    )
    messages = [
        Message(LEAD.encode(lead), None, [], "leads.segmented", 0, i, 0) for i, lead in enumerate(leads)
    ]
    routed = step(messages)
    assert [r.destination for r in routed] == [OUTPUT] * len(leads)
    expected = _full_assignments(leads, rule_set, CLOCK.now_ms())
    assert [ASSIGNMENT.decode(r.value) for r in routed] == [
        ASSIGNMENT.decode(ASSIGNMENT.encode(event)) for event in expected
    ]


def test_a_lead_already_stamped_by_the_stage_is_not_stamped_twice() -> None:
    lead = stamped(segmented_leads()[0], assign.NAME, 7)
    step = assign.build_step(
        Settings(default_queue="triage"),
        CLOCK,
        ledger=InMemoryLedger(),
        owners=StaticOwners(demo_owners()),
        rules=RulesSource(None, fallback=example_rules()),
    )
    [routed] = step([Message(LEAD.encode(lead), None, [], "leads.segmented", 0, 0, 0)])
    trace = ASSIGNMENT.decode(routed.value)["lead"]["trace"]
    assert [entry for entry in trace if entry["stage"] == assign.NAME] == [{"stage": assign.NAME, "at_ms": 7}]


def test_the_writer_refuses_schemas_where_lead_is_not_the_last_field(monkeypatch: pytest.MonkeyPatch) -> None:
    import schemas

    real = schemas.parsed

    def reordered(name: str) -> Any:
        schema = real(name)
        if name != "Assignment":
            return schema
        fields = schema["fields"]
        return {**schema, "fields": [fields[-1], *fields[:-1]]}

    monkeypatch.setattr(schemas, "parsed", reordered)
    with pytest.raises(RuntimeError, match="must stay the last fields"):
        AssignmentWriter()


def test_leads_with_the_same_plan_share_its_explanation() -> None:
    events = _full_assignments(list(segmented_leads()), example_rules(), 42)
    explanations = {id(event["routes_tried"]) for event in events}
    assert len(explanations) < len(events)  # built once per plan, not per lead


def test_a_plan_whose_values_seen_cannot_be_hashed_is_explained_without_the_cache() -> None:
    from processors.assign import plan_part
    from processors.routing.plan import ConditionTrace, QueueAction, RoutePlan, RouteTrace

    seen_a_map = ConditionTrace("raw.custom exists", {"tier": "gold"}, True)
    plan = RoutePlan(
        "rules@x", "custom", "sales", (QueueAction("q"),), (RouteTrace("custom", True, (seen_a_map,)),)
    )
    part = plan_part(plan, plan.actions)
    assert part.body["routes_tried"][0]["conditions"][0]["seen"] == '{"tier":"gold"}'
    assert part.route_lines == ('route custom: matched (raw.custom exists: saw {"tier":"gold"} → yes)',)
    meta, text = part.meta(5)
    assert meta["decided_at_ms"] == 5 and json.loads(text) == meta
