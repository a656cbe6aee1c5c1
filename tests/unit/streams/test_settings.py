from __future__ import annotations

import pytest

from streams.settings import Settings, parse_kafka_config, settings_env


def test_env_vars_then_flags() -> None:
    settings = Settings.from_env(
        {"LEADROUTE_KAFKA_BOOTSTRAP": "k:9092", "LEADROUTE_PARTITIONS": "12"}, partitions=3
    )
    assert (settings.kafka_bootstrap, settings.partitions) == ("k:9092", 3)


def test_security_settings_reach_every_client() -> None:
    settings = Settings.from_env(
        {
            "LEADROUTE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LEADROUTE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "LEADROUTE_KAFKA_SASL_USERNAME": "u",
            "LEADROUTE_KAFKA_SASL_PASSWORD": "p",
            "LEADROUTE_KAFKA_CONFIG": "client.id=lr, socket.keepalive.enable=true",
            "LEADROUTE_FETCH_WAIT_MAX_MS": "10",
        }
    )
    consumer = settings.consumer_config()
    assert consumer["security.protocol"] == "SASL_SSL" and consumer["sasl.password"] == "p"
    assert consumer["client.id"] == "lr" and consumer["fetch.wait.max.ms"] == 10
    assert "fetch.wait.max.ms" not in settings.producer_config()
    assert settings.public_view()["kafka_sasl_password"] == "***"


def test_settings_survive_the_trip_to_a_child_process() -> None:
    settings = Settings.from_env({}, topic_prefix="p.", commit_interval=0.5, fetch_wait_max_ms=10)
    assert Settings.from_env(settings_env(settings)) == settings


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"LEADROUTE_PROCESSING_GUARANTEE": "maybe-once"}, "exactly-once"),
        ({"LEADROUTE_PARTITIONS": "six"}, "not a number"),
        ({"LEADROUTE_COMMIT_INTERVAL": "0"}, "positive"),
        ({"LEADROUTE_KAFKA_CONFIG": "novalue"}, "key=value"),
        ({"LEADROUTE_MAX_CUSTOM_BYTES": "-1"}, "LEADROUTE_MAX_CUSTOM_BYTES must be between 0 and"),
        ({"LEADROUTE_MAX_CUSTOM_BYTES": "2000000"}, "LEADROUTE_MAX_CUSTOM_BYTES must be between 0 and"),
        ({"LEADROUTE_MAX_CUSTOM_BYTES": "16k"}, "not a number"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Settings.from_env(environ).consumer_config()


def test_kafka_config_parsing() -> None:
    assert parse_kafka_config(" a=1 ,b = x=y,") == {"a": "1", "b": "x=y"}


def test_the_custom_cap_defaults_to_16_kib_and_is_read_from_its_variable() -> None:
    assert Settings.from_env({}).max_custom_bytes == 16_384
    assert Settings.from_env({"LEADROUTE_MAX_CUSTOM_BYTES": "0"}).max_custom_bytes == 0
