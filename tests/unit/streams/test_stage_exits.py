"""How a stage ends: the transactional id it uses, and the exit code and sentence for each failure."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError
from quixstreams.kafka.exceptions import KafkaBrokerUnavailableError, KafkaProducerDeliveryError

from processors.errors import DependencyUnavailable
from streams.app import error_callbacks, producer_config
from streams.exits import (
    EXIT_BROKER_UNREACHABLE,
    EXIT_DEPENDENCY_DOWN,
    EXIT_FENCED,
    EXIT_TOPICS_MISSING,
    exit_for,
)
from streams.settings import Settings
from streams.supervisor import FATAL_EXIT_CODES


def settings(**overrides: object) -> Settings:
    return Settings.from_env({}, **overrides)


def test_exactly_once_producers_get_an_id_stable_per_stage_and_instance() -> None:
    config = producer_config(settings(instance_id="pod-7", group_prefix="acme"), "segment")
    assert config["transactional.id"] == "acme-segment-pod-7"
    assert config["transaction.timeout.ms"] == 10_000
    again = producer_config(settings(instance_id="pod-7", group_prefix="acme"), "segment")
    assert again["transactional.id"] == config["transactional.id"]
    other_stage = producer_config(settings(instance_id="pod-7", group_prefix="acme"), "assign")
    assert other_stage["transactional.id"] != config["transactional.id"]


def test_the_instance_defaults_to_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "leadroute-assign-5d9f/x")
    assert settings().transactional_id("assign") == "leadroute-assign-leadroute-assign-5d9f-x"


def test_at_least_once_producers_are_not_transactional() -> None:
    config = producer_config(settings(processing_guarantee="at-least-once"), "segment")
    assert "transactional.id" not in config and "transaction.timeout.ms" not in config


def test_an_explicit_transactional_id_in_kafka_config_wins() -> None:
    config = producer_config(settings(kafka_config="transactional.id=mine"), "segment")
    assert config["transactional.id"] == "mine"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"transaction_timeout_ms": 500}, "LEADROUTE_TRANSACTION_TIMEOUT_MS"),
        ({"transaction_timeout_ms": 1500, "commit_interval": 1.0}, "twice LEADROUTE_COMMIT_INTERVAL"),
        ({"instance_id": "pod 7"}, "LEADROUTE_INSTANCE_ID"),
        ({"stall_seconds": 0}, "LEADROUTE_STALL_SECONDS"),
        ({"broker_timeout_seconds": 0}, "LEADROUTE_BROKER_TIMEOUT_SECONDS"),
    ],
)
def test_bad_transaction_settings_are_refused(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        settings(**overrides)


def _wrapped(error: BaseException) -> BaseException:
    """An error as Quix raises it: from inside a checkpoint, chained."""
    try:
        try:
            raise error
        except BaseException as inner:
            raise RuntimeError("checkpoint failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "code", "fragment"),
    [
        (KafkaException(KafkaError(KafkaError._TIMED_OUT)), EXIT_BROKER_UNREACHABLE, "did not answer"),
        (KafkaException(KafkaError(KafkaError._TRANSPORT)), EXIT_BROKER_UNREACHABLE, "did not answer"),
        (KafkaBrokerUnavailableError("all down"), EXIT_BROKER_UNREACHABLE, "answered for 60s"),
        (
            KafkaProducerDeliveryError(KafkaError(KafkaError._MSG_TIMED_OUT)),
            EXIT_BROKER_UNREACHABLE,
            "nothing was lost",
        ),
        # At-least-once commits after an outage: the coordinator not found again yet, or the
        # group moved on while the stage was cut off. Quix raises these from its checkpoint.
        (
            CheckpointConsumerCommitError(KafkaError(KafkaError._WAIT_COORD)),
            EXIT_BROKER_UNREACHABLE,
            "could not commit its progress",
        ),
        (
            CheckpointConsumerCommitError(KafkaError(KafkaError.UNKNOWN_MEMBER_ID)),
            EXIT_BROKER_UNREACHABLE,
            "nothing was lost",
        ),
        (
            CheckpointConsumerCommitError(KafkaError(KafkaError.ILLEGAL_GENERATION)),
            EXIT_BROKER_UNREACHABLE,
            "nothing was lost",
        ),
        (KafkaException(KafkaError(KafkaError._FENCED)), EXIT_FENCED, "LEADROUTE_INSTANCE_ID"),
        (KafkaException(KafkaError(KafkaError.PRODUCER_FENCED)), EXIT_FENCED, "fenced this one"),
        (
            KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)),
            EXIT_TOPICS_MISSING,
            "leadroute topics create",
        ),
        (DependencyUnavailable("Redis is down"), EXIT_DEPENDENCY_DOWN, "retried after restart"),
    ],
)
def test_expected_failures_end_in_their_code_and_a_sentence(
    error: BaseException, code: int, fragment: str
) -> None:
    for raised in (error, _wrapped(error)):
        found = exit_for(raised, settings(), "segment")
        assert found is not None
        assert found[0] == code and fragment in found[1]


def test_a_bug_is_not_dressed_up_as_an_outage() -> None:
    assert exit_for(ValueError("a bug"), settings(), "segment") is None
    assert exit_for(KafkaException(KafkaError(KafkaError.INVALID_CONFIG)), settings(), "segment") is None


def test_a_fenced_stage_stops_the_supervisor_instead_of_fencing_back() -> None:
    assert EXIT_FENCED in FATAL_EXIT_CODES
    assert EXIT_BROKER_UNREACHABLE not in FATAL_EXIT_CODES


def test_quix_logs_an_expected_failure_in_one_line_and_a_bug_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    callbacks = error_callbacks(settings(), "match")
    logger = logging.getLogger("quixstreams.app")
    row = SimpleNamespace(topic="leads.enriched", partition=0, offset=410)
    expected: list[tuple[str, Exception]] = [
        ("on_processing_error", DependencyUnavailable("Redis is unreachable: Timeout reading from socket")),
        ("on_consumer_error", KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))),
        ("on_producer_error", KafkaProducerDeliveryError(KafkaError(KafkaError._MSG_TIMED_OUT))),
    ]
    for name, error in expected:
        caplog.clear()
        try:
            raise error
        except Exception as raised:  # noqa: BLE001 - handed to the callback as Quix does
            assert callbacks[name](raised, None if name == "on_consumer_error" else row, logger) is False
        assert [r.exc_info for r in caplog.records] == [None], name
    caplog.clear()
    try:
        raise ValueError("a bug")
    except ValueError as bug:
        assert callbacks["on_processing_error"](bug, row, logger) is False
    assert caplog.records and caplog.records[0].exc_info is not None
