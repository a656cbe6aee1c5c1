"""Avro in Confluent wire format on leads.raw, through the normalize stage on the broker.

The Schema Registry is confluent-kafka's mock (``mock://``); its state lives in
the client object, so the stage runs in this process and shares the client.
"""

from __future__ import annotations

import io
import json
import time
import uuid

import fastavro
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import schemas
from processors.ports import SystemClock
from streams import topics
from streams.app import build_application, wire
from streams.health import Health
from streams.stages import normalize
from tests.integration.conftest import make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration

#: What a web-form team might register: a subset of RawLead's fields plus one of its own.
WRITER_SCHEMA = {
    "type": "record",
    "name": "RawLead",
    "namespace": "leadroute",
    "fields": [
        {"name": "lead_id", "type": ["null", "string"], "default": None},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "country", "type": ["null", "string"], "default": None},
        {"name": "form_variant", "type": "string", "default": "a"},
    ],
}


def test_confluent_avro_lead_is_normalized_by_the_stage(infra: Services) -> None:
    settings = make_settings(
        infra, schema_registry_url="mock://leadroute-test", processing_guarantee="at-least-once"
    )
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    registry = SchemaRegistryClient.new_client({"url": "mock://leadroute-test"})
    serializer = AvroSerializer(registry, json.dumps(WRITER_SCHEMA))
    raw_topic = topics.name(settings, topics.RAW)
    lead_id = f"sr-{uuid.uuid4().hex[:8]}"
    value = serializer(
        {"lead_id": lead_id, "email": " Ana@Example.PT", "country": "Portugal", "form_variant": "b"},
        SerializationContext(raw_topic, MessageField.VALUE),
    )
    assert value[:1] == b"\x00"
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(raw_topic, value=value, key=lead_id.encode())
    producer.flush(10)

    app = build_application(settings, "normalize", Health("normalize", stats_interval_s=5))
    wire(app, settings, "normalize", normalize.build_step(settings, SystemClock(), registry_client=registry))
    app.run(count=1, timeout=60)

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"check-{lead_id}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topics.name(settings, topics.NORMALIZED)])
    lead = None
    deadline = time.monotonic() + 30
    while lead is None and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            lead = fastavro.schemaless_reader(io.BytesIO(message.value()), schemas.parsed("Lead"))
    consumer.close()
    assert lead is not None, "the normalize stage produced nothing"
    assert lead["lead_id"] == lead_id
    assert lead["normalized"]["email"] == "ana@example.pt"
    assert lead["normalized"]["country_code"] == "PT"
