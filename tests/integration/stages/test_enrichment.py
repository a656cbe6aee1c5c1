"""Enrichment through Kafka: sections on leads.enriched, and provider outages that drop nothing."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import fastavro
import pytest
from confluent_kafka import Consumer

import schemas
from streams import topics
from streams.demo.synthetic import companies
from streams.settings import Settings
from streams.supervisor import Supervisor
from tests.integration.conftest import PipelineProbe, make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration


def _lead_id() -> str:
    return f"enr-{uuid.uuid4().hex[:12]}"


class EnrichedReader:
    """Reads Lead records from leads.enriched, as the match stage would."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"enriched-reader-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 6000,
            }
        )
        self.consumer.subscribe([topics.name(settings, topics.ENRICHED)])
        self.schema = schemas.parsed("Lead")
        self.leads: dict[str, dict[str, Any]] = {}

    def wait_for(self, lead_ids: set[str], timeout: float = 90.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not lead_ids <= self.leads.keys() and time.monotonic() < deadline:
            for message in self.consumer.consume(100, timeout=0.2):
                if message.error() or message.value() is None:
                    continue
                lead = fastavro.schemaless_reader(io.BytesIO(message.value()), self.schema)
                self.leads.setdefault(lead["lead_id"], lead)
        missing = lead_ids - self.leads.keys()
        assert not missing, f"{len(missing)} leads never reached leads.enriched"
        return {lead_id: self.leads[lead_id] for lead_id in lead_ids}

    def close(self) -> None:
        self.consumer.close()


def test_enriched_sections_on_leads_enriched_and_on_the_assignment(probe: PipelineProbe) -> None:
    reader = EnrichedReader(probe.settings)
    known = next(company for company in companies() if company.in_dataset)
    leads = {
        "uk_phone": {"lead_id": _lead_id(), "email": "jane@acme.io", "phone": "+44 20 7946 0958"},
        "vp_sales": {"lead_id": _lead_id(), "email": "sam@acme.io", "title": "Sr. VP, Global Sales"},
        "gmail": {"lead_id": _lead_id(), "email": "jo.bloggs@gmail.com", "company": "Bloggs Ltd"},
        "conflict": {"lead_id": _lead_id(), "email": "al@acme.io", "country": "US", "phone": "+49 30 123456"},
        "dataset": {"lead_id": _lead_id(), "email": f"kim@{known.domain}", "title": "CFO"},
    }
    try:
        for lead in leads.values():
            probe.publish(json.dumps(lead).encode(), key=lead["lead_id"].encode())
        seen = reader.wait_for({lead["lead_id"] for lead in leads.values()})
    finally:
        reader.close()
    section = {name: seen[lead["lead_id"]]["enrichment"] for name, lead in leads.items()}

    uk = section["uk_phone"]
    assert (uk["country_code"], uk["region"]) == ("GB", "EMEA")
    assert uk["provenance"]["country_code"]["source"] == "phone"
    assert uk["provenance"]["region"]["source"] == "phone"
    assert (section["vp_sales"]["seniority"], section["vp_sales"]["function"]) == ("vp", "sales")
    assert section["vp_sales"]["company_domain"] == "acme.io"
    assert section["gmail"]["company_domain"] is None and section["gmail"]["email_is_free_mail"] is True
    assert section["conflict"]["country_code"] == "US"
    assert "conflict:country_code" in section["conflict"]["flags"]
    found = section["dataset"]
    assert found["firmographics_status"] == "found"
    assert (found["company_name"], found["employees_min"]) == (known.name, known.employees)
    assert found["provenance"]["company_name"]["source"] == "firmographics:dataset"

    lead_id = leads["uk_phone"]["lead_id"]
    probe.wait_for(lambda: probe.assigned_for(lead_id))
    assert probe.assigned_for(lead_id)[0]["lead"]["enrichment"]["region"] == "EMEA"


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["failing", "hanging"])
def broken_provider(request: pytest.FixtureRequest) -> Iterator[str]:
    """A provider URL that answers 503 to everything, or accepts and never answers."""
    if request.param == "failing":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/companies?domain={{domain}}"
        server.shutdown()
        server.server_close()
        return
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # connections complete in the backlog and are never served
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/companies?domain={{domain}}"
    listener.close()


def test_a_provider_down_for_the_whole_run_drops_and_blocks_no_lead(
    infra: Services, broken_provider: str
) -> None:
    timeout = 0.3
    settings = make_settings(
        infra,
        firmographics="http",
        firmographics_url=broken_provider,
        firmographics_timeout=timeout,
        firmographics_retries=1,
        firmographics_backoff=0.05,
        firmographics_breaker_failures=3,
        firmographics_breaker_reset=60.0,
        processing_guarantee="at-least-once",
    )
    assert all(result.status != "failed" for result in topics.create_topics(settings))
    supervisor = Supervisor(settings, ["normalize", "enrich"])
    supervisor.start()
    probe = PipelineProbe(settings)
    reader = EnrichedReader(settings)
    try:
        leads = [
            {"lead_id": _lead_id(), "email": f"p{n}@company{n}.example.org", "phone": "+4930123456"}
            for n in range(12)
        ]
        for lead in leads:
            probe.publish(json.dumps(lead).encode(), key=lead["lead_id"].encode())
        seen = reader.wait_for({lead["lead_id"] for lead in leads})
    finally:
        reader.close()
        probe.close()
        supervisor.stop()
    outcomes = []
    for lead in seen.values():
        section = lead["enrichment"]
        assert section["country_code"] == "DE"  # the rest of enrichment still happened
        outcomes.append(section["firmographics_status"])
        assert {"firmographics_unavailable", "firmographics_circuit_open"} & set(section["flags"])
        stamps = {entry["stage"]: entry["at_ms"] for entry in lead["trace"]}
        # Never a hang: the provider never answers, so a lead held by it would not arrive at
        # all. The loose bound only says so in time units; that each lead waits at most its
        # own budget is what the counts below show (the breaker opened after a few calls).
        assert stamps["enrich"] - stamps["normalize"] < 30_000
    assert set(outcomes) <= {"unavailable", "circuit_open"}
    assert outcomes.count("unavailable") <= 3 + 1  # then the breaker opened and calls stopped
    assert "circuit_open" in outcomes
