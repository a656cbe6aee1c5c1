"""What a stage's exit code means, and which failures are expected outages rather than bugs.

Exit codes (also in ``leadroute run --help``): 0 stopped cleanly; 2 bad
settings; 3 topics missing; 4 broker unreachable; 5 a dependency (Redis) down;
6 fenced: another process took this stage instance's transactional id; 7 dead-letter brake:
the stage dead-lettered too many records for a code that is not the data's (a bug), and
stopped before committing them.

The runner ends a stage with the code and one sentence; Quix's error callbacks
(:mod:`streams.app`) use the same rule to log an expected failure without a
traceback. Both ask here, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import KafkaError, KafkaException
from quixstreams.kafka.exceptions import BaseKafkaException, KafkaBrokerUnavailableError

from processors.errors import DependencyUnavailable
from streams.settings import Settings
from streams.stages.brake import DeadLetterBrakeTripped

EXIT_OK = 0
EXIT_SETTINGS = 2
EXIT_TOPICS_MISSING = 3
EXIT_BROKER_UNREACHABLE = 4
EXIT_DEPENDENCY_DOWN = 5
EXIT_FENCED = 6
EXIT_DLQ_BRAKE = 7

_BROKER_DOWN_CODES = {
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._MSG_TIMED_OUT,
    KafkaError._RESOLVE,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
}
_FENCED_CODES = {
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
}
#: A consumer's commit refused because it was cut off from its group: no coordinator yet, or
#: the group moved on without it (its session timed out while the broker was unreachable).
_GROUP_LOST_CODES = {
    KafkaError._WAIT_COORD,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
}
_TOPIC_CODES = {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION}


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _kafka_error(error: BaseException) -> KafkaError | None:
    if isinstance(error, BaseKafkaException):
        return error.error
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0]
    return None


def exit_for(error: BaseException, settings: Settings, stage: str) -> tuple[int, str] | None:
    """The exit code and sentence for an expected failure; None for a bug (which keeps its traceback)."""
    for cause in _causes(error):
        if isinstance(cause, DeadLetterBrakeTripped):
            return EXIT_DLQ_BRAKE, str(cause)
        if isinstance(cause, DependencyUnavailable):
            return EXIT_DEPENDENCY_DOWN, f"{cause}; the record will be retried after restart"
        if isinstance(cause, KafkaBrokerUnavailableError):
            return EXIT_BROKER_UNREACHABLE, (
                f"no Kafka broker at {settings.kafka_bootstrap} answered for "
                f"{settings.broker_timeout_seconds:.0f}s; nothing was lost, uncommitted work is redone "
                "after restart"
            )
        kafka_error = _kafka_error(cause)
        if kafka_error is None:
            continue
        code = kafka_error.code()
        if code in _FENCED_CODES:
            return EXIT_FENCED, (
                f"another process started with this stage's transactional id "
                f"{settings.transactional_id(stage)!r} and fenced this one. If it is a second instance, "
                "give each instance its own LEADROUTE_INSTANCE_ID"
            )
        if code in _TOPIC_CODES:
            return EXIT_TOPICS_MISSING, (
                f"a topic this stage reads or writes is gone ({kafka_error.str()}); recreate it with "
                "'leadroute topics create'"
            )
        if code in _GROUP_LOST_CODES:
            return EXIT_BROKER_UNREACHABLE, (
                f"this stage could not commit its progress to consumer group {settings.group_prefix}-{stage} "
                f"after losing touch with Kafka at {settings.kafka_bootstrap} ({kafka_error.name()}); "
                "nothing was lost, uncommitted work is redone after restart"
            )
        if code in _BROKER_DOWN_CODES or kafka_error.retriable():
            return EXIT_BROKER_UNREACHABLE, (
                f"Kafka at {settings.kafka_bootstrap} did not answer in time ({kafka_error.name()}); "
                "nothing was lost, uncommitted work is redone after restart"
            )
    return None
