"""Naming union branches for fastavro changes how fast a Lead is written, never the bytes."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

import fastavro

from processors.crm.memory import InMemoryCrmMirror
from processors.intake import raw_lead_from_json
from processors.pipeline import enrich_stage, match_stage, normalize_stage, segment_stage
from processors.ports import FrozenClock
from streams.crm.synthetic import generate_crm
from streams.demo.synthetic import generate
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES, in_process_router, read_owners
from streams.routing.rules_source import read_rules
from streams.serde import AvroCodec, union_tagger
from streams.settings import Settings

CLOCK = FrozenClock(1_800_000_000_000)


@cache
def _segmented_leads() -> tuple[Any, ...]:
    """Leads with every section filled, CRM matches (nested unions) among them."""
    mirror = InMemoryCrmMirror()
    for kind, record in generate_crm(150, seed=3, demo_seed=3):
        mirror.upsert(kind, record)
    router = in_process_router(
        Settings.from_env({}, firmographics="dataset"),
        rules=read_rules(str(EXAMPLE_RULES)),
        owners=read_owners(DEMO_OWNERS),
        mirror=mirror,
    )
    raws = [
        raw_lead_from_json(m.payload) for m in generate(120, seed=3) if m.payload and m.payload.get("email")
    ]
    leads = [
        enrich_stage(
            normalize_stage(raw, received_at_ms=0, clock=CLOCK), enricher=router.enricher, clock=CLOCK
        )
        for raw in raws
    ]
    leads = match_stage(leads, matcher=router.matcher, mirror=router.mirror, clock=CLOCK)
    return tuple(segment_stage(lead, segmenter=router.segmenter, clock=CLOCK) for lead in leads)


def _untagged(codec: AvroCodec, value: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, codec.schema, value, strict_allow_default=True)
    return buffer.getvalue()


def test_a_lead_is_written_to_the_same_bytes_with_its_branches_named() -> None:
    codec = AvroCodec("Lead")
    leads = _segmented_leads()
    assert any(lead["crm"] and lead["crm"].get("account") for lead in leads)  # nested unions are exercised
    for lead in leads:
        assert codec.encode(lead) == _untagged(codec, lead)
        assert codec.decode(codec.encode(lead)) == codec.decode(_untagged(codec, lead))


def test_empty_sections_and_a_bare_lead_are_written_as_before() -> None:
    codec = AvroCodec("Lead")
    bare = {**_segmented_leads()[0], "enrichment": None, "crm": None, "segment": None}
    assert codec.encode(bare) == _untagged(codec, bare)


def test_naming_branches_leaves_the_caller_s_record_alone() -> None:
    codec = AvroCodec("Lead")
    lead = _segmented_leads()[0]
    before = repr(lead)
    codec.encode(lead)
    assert repr(lead) == before


def test_every_schema_gets_a_codec() -> None:
    import schemas

    names = sorted(p.name.split(".")[1] for p in schemas.schema_path("Lead").parent.glob("leadroute.*.avsc"))
    assert "Assignment" in names and "DeadLetter" in names
    for name in names:
        AvroCodec(name)


def test_schemas_without_record_unions_need_no_tagging() -> None:
    assert (
        union_tagger(
            {"type": "record", "name": "Plain", "fields": [{"name": "a", "type": ["null", "string"]}]}
        )
        is None
    )
    assert union_tagger(AvroCodec("Lead").schema) is not None
