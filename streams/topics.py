"""Topic names and their explicit, idempotent creation.

Topics are created before any consumer subscribes: a consumer does not see a
topic created after it subscribed until its next metadata refresh, minutes later.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.routing.rules_source import rules_for
from streams.settings import Settings

RAW = "leads.raw"
NORMALIZED = "leads.normalized"
ENRICHED = "leads.enriched"
MATCHED = "leads.matched"
SEGMENTED = "leads.segmented"
ASSIGNED = "leads.assigned"
DLQ = "leads.dlq"

#: Every topic the pipeline uses, in flow order.
PIPELINE_TOPICS: tuple[str, ...] = (RAW, NORMALIZED, ENRICHED, MATCHED, SEGMENTED, ASSIGNED, DLQ)

#: CRM change events: compacted, keyed by record id, a null value (tombstone) deletes.
CRM_ACCOUNTS = "crm.accounts"
CRM_CONTACTS = "crm.contacts"
CRM_LEADS = "crm.leads"
CRM_OPPORTUNITIES = "crm.opportunities"
CRM_TOPICS: dict[str, str] = {
    "account": CRM_ACCOUNTS,
    "contact": CRM_CONTACTS,
    "lead": CRM_LEADS,
    "opportunity": CRM_OPPORTUNITIES,
}
#: Owners: compacted, keyed by owner id, a null value (tombstone) deletes (streams/events/owners.py).
OWNERS = "owners"
COMPACTED: frozenset[str] = frozenset((*CRM_TOPICS.values(), OWNERS))
ALL_TOPICS: tuple[str, ...] = (*PIPELINE_TOPICS, *CRM_TOPICS.values(), OWNERS)


def name(settings: Settings, base: str) -> str:
    return settings.topic_prefix + base


def channel_topic(channel: str) -> str:
    """The per-channel assignment topic downstream services of one channel subscribe to."""
    return f"{ASSIGNED}.{channel}"


@dataclass(frozen=True, slots=True)
class TopicResult:
    topic: str
    status: str  # created | exists | failed
    detail: str = ""


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap, **settings.kafka_client_config()})


def routing_channel_topics(settings: Settings) -> tuple[str, ...]:
    """leads.assigned.<channel> for every channel of the configured rules (ConfigError if they are bad)."""
    return tuple(channel_topic(channel) for channel in rules_for(settings).channels())


def create_topics(
    settings: Settings, *, timeout: float = 30.0, extra: tuple[str, ...] | None = None
) -> list[TopicResult]:
    """Create every topic that does not exist yet; existing ones are left alone.

    The CRM topics are compacted, so replaying them from the start always
    rebuilds the current CRM mirror, however old the first events are.
    ``extra`` adds more; by default the channel topics of the configured rules.
    """
    if extra is None:
        extra = routing_channel_topics(settings)
    admin = admin_client(settings)
    wanted = list(dict.fromkeys(name(settings, base) for base in (*ALL_TOPICS, *extra)))
    compacted = {name(settings, base) for base in COMPACTED}
    existing = set(admin.list_topics(timeout=timeout).topics)
    results = [TopicResult(topic, "exists") for topic in wanted if topic in existing]
    missing = [topic for topic in wanted if topic not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=settings.partitions,
                    replication_factor=settings.replication_factor,
                    config={"cleanup.policy": "compact"} if topic in compacted else {},
                )
                for topic in missing
            ],
            request_timeout=timeout,
        )
        for topic, future in futures.items():
            try:
                future.result(timeout=timeout)
                results.append(TopicResult(topic, "created"))
            except KafkaException as error:
                kafka_error = error.args[0]
                if kafka_error.name() == "TOPIC_ALREADY_EXISTS":
                    results.append(TopicResult(topic, "exists"))
                else:
                    results.append(TopicResult(topic, "failed", kafka_error.str()))
    order = {topic: index for index, topic in enumerate(wanted)}
    return sorted(results, key=lambda result: order[result.topic])


def missing_topics(settings: Settings, topics: list[str], *, timeout: float = 10.0) -> list[str]:
    existing = set(admin_client(settings).list_topics(timeout=timeout).topics)
    return [topic for topic in topics if topic not in existing]
