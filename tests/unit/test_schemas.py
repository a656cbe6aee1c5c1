"""Every record the stages produce validates against the schema files."""

from __future__ import annotations

import json
from pathlib import Path

import fastavro.schema
import fastavro.validation

from processors.intake import raw_lead_from_json
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from schemas import SCHEMA_DIR, parsed
from streams.demo.synthetic import generate
from tests.support.builders import router as example_router

SCHEMA = lambda name: fastavro.schema.load_schema(str(SCHEMA_DIR / f"leadroute.{name}.avsc"))  # noqa: E731


def test_every_schema_file_parses_and_is_named_after_its_record() -> None:
    for path in SCHEMA_DIR.glob("*.avsc"):
        document = json.loads(path.read_text())
        assert path.name == f"{document['namespace']}.{document['name']}.avsc"
        assert document.get("doc"), f"{path.name} needs a doc"
        fastavro.schema.load_schema(str(path))


def test_every_optional_field_has_a_default_so_readers_can_evolve() -> None:
    for path in SCHEMA_DIR.glob("*.avsc"):
        for field in json.loads(path.read_text())["fields"]:
            if isinstance(field["type"], list) and "null" in field["type"]:
                assert "default" in field and field["default"] is None, f"{path.name}:{field['name']}"


def test_synthetic_leads_produce_schema_valid_leads_and_assignments() -> None:
    router = example_router(FrozenClock(1_800_000_000_000), firmographics="dataset")
    lead_schema, assignment_schema = SCHEMA("Lead"), SCHEMA("Assignment")
    checked, routes = 0, set()
    for message in generate(300, seed=3, invalid_share=0, garbage_share=0):
        assert message.payload is not None
        event = route_raw_lead(raw_lead_from_json(message.payload), received_at_ms=1, router=router)
        assert fastavro.validation.validate(event, assignment_schema)
        assert fastavro.validation.validate(event["lead"], lead_schema)
        checked += 1
        routes.add(event["route"])
    assert checked == 300
    assert len(routes) > 3  # the example rules spread the synthetic leads over several routes


def test_the_schema_docs_list_every_dead_letter_code() -> None:
    from processors.errors import DLQ_CODES

    readme = (SCHEMA_DIR / "README.md").read_text()
    assert all(f"`{code}`" in readme for code in DLQ_CODES)


def test_loader_and_files_agree() -> None:
    assert parsed("Assignment")["name"] == "leadroute.Assignment"
    assert Path(SCHEMA_DIR / "leadroute.Lead.avsc").exists()
