"""Reading topics back from a point in time to their current end, outside any consumer group.

State rebuilds use it: the compacted owners and CRM topics from the beginning,
and leads.assigned from a few hours back. The reader joins no group and
commits nothing, so the stage's own consumer keeps its offsets and partitions;
it reads committed records only, and stops at each partition's end as the
broker reports it when the replay starts (later records reach the stage's own
consumer anyway).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from processors.errors import DependencyUnavailable
from streams.serde import header_list
from streams.settings import Settings
from streams.stages.base import Message

#: Without a record or an end-of-partition for this long, the replay is given up (and retried later).
IDLE_LIMIT_S = 30.0


def replay(
    settings: Settings,
    topic_names: Sequence[str],
    *,
    since_ms: int | None = None,
    batch_size: int = 500,
    keep_alive: Callable[[], None] | None = None,
) -> Iterator[list[Message]]:
    """Batches of the topics' records from ``since_ms`` (or the beginning) to their end at the start.

    ``keep_alive`` is called between batches, so a long replay can extend its claim.
    Raises DependencyUnavailable when the broker does not answer or a topic is gone.
    """
    consumer = Consumer(
        {
            **settings.kafka_client_config(),
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"{settings.group_prefix}-replay-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = _partitions(consumer, topic_names, since_ms)
        if not partitions:
            return
        consumer.assign(partitions)
        open_partitions = {(p.topic, p.partition) for p in partitions}
        batch: list[Message] = []
        idle_since = time.monotonic()
        while open_partitions:
            for record in consumer.consume(num_messages=batch_size, timeout=0.5):
                error = record.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        open_partitions.discard((record.topic(), record.partition()))
                        continue
                    if error.retriable() or error.code() == KafkaError._TRANSPORT:
                        continue
                    raise DependencyUnavailable(f"reading {record.topic()} back failed: {error.str()}")
                idle_since = time.monotonic()
                timestamp = record.timestamp()[1]
                batch.append(
                    Message(
                        value=record.value(),
                        key=record.key(),
                        headers=header_list(record.headers()),
                        topic=record.topic(),
                        partition=record.partition(),
                        offset=record.offset(),
                        timestamp_ms=timestamp,
                    )
                )
            if batch:
                yield batch
                batch = []
                if keep_alive is not None:
                    keep_alive()
            elif time.monotonic() - idle_since > IDLE_LIMIT_S:
                waiting = ", ".join(f"{t}[{p}]" for t, p in sorted(open_partitions))
                raise DependencyUnavailable(
                    f"reading topics back stalled: no record or end of partition from {waiting} "
                    f"for {IDLE_LIMIT_S:.0f} s"
                )
    except KafkaException as error:
        raise DependencyUnavailable(f"reading topics back failed: {error}") from error
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topic_names: Sequence[str], since_ms: int | None) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=10)
    partitions: list[TopicPartition] = []
    for name in topic_names:
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None:
            raise DependencyUnavailable(f"topic {name} cannot be read back: it does not exist on the broker")
        for number in sorted(topic.partitions):
            start = OFFSET_BEGINNING if since_ms is None else since_ms
            partitions.append(TopicPartition(name, number, start))
    if since_ms is not None and partitions:
        # Offsets of the first record at or after since_ms; -1 (none that late) means nothing to read.
        found = consumer.offsets_for_times(partitions, timeout=10)
        partitions = [p for p in found if p.offset >= 0]
    return partitions
