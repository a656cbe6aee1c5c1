"""Kafka SASL/SSL and Redis AUTH/TLS settings reach every client, and no secret is shown.

Each client leadroute makes (every stage's consumer, producer and admin; the
CLI's producers, consumers and admin; every Redis client) is built from one
set of secure settings and its configuration checked. ``leadroute config`` and
every command's ``--help`` are run with the secrets in the environment and must
not print them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from redis.cluster import RedisCluster
from redis.connection import SSLConnection

from streams import wiring
from streams.app import build_application
from streams.health import Health
from streams.redis_client import rate_limit_storage, redis_client
from streams.settings import SETTINGS_FIELDS, Settings, masked_kafka_config, redacted_url
from streams.stages.registry import STAGES

SASL_PASSWORD = "sasl-pw-4f9a1c"
KEY_PASSWORD = "key-pw-8b2e7d"
REDIS_PASSWORD = "redis-pw-61c0aa"
URL_PASSWORD = "url-pw-93d5e1"
OAUTH_SECRET = "oauth-secret-0b7f33"
API_KEY = "api-key-77aa10"
SECRETS = (SASL_PASSWORD, KEY_PASSWORD, REDIS_PASSWORD, URL_PASSWORD, OAUTH_SECRET, API_KEY)

SECURE_ENV = {
    "LEADROUTE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    "LEADROUTE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "LEADROUTE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "LEADROUTE_KAFKA_SASL_USERNAME": "router",
    "LEADROUTE_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
    "LEADROUTE_KAFKA_SSL_CA_LOCATION": "/etc/kafka/ca.pem",
    "LEADROUTE_KAFKA_SSL_CERTIFICATE_LOCATION": "/etc/kafka/client.pem",
    "LEADROUTE_KAFKA_SSL_KEY_LOCATION": "/etc/kafka/client.key",
    "LEADROUTE_KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
    "LEADROUTE_KAFKA_CONFIG": (
        f"ssl.endpoint.identification.algorithm=https,sasl.oauthbearer.client.secret={OAUTH_SECRET}"
    ),
    "LEADROUTE_REDIS_URL": f"rediss://router:{URL_PASSWORD}@redis.internal:6380/3",
    "LEADROUTE_REDIS_PASSWORD": REDIS_PASSWORD,
    "LEADROUTE_REDIS_SSL_CA_CERTS": "/etc/redis/ca.pem",
    "LEADROUTE_REDIS_SSL_CERTFILE": "/etc/redis/client.pem",
    "LEADROUTE_REDIS_SSL_KEYFILE": "/etc/redis/client.key",
    "LEADROUTE_FIRMOGRAPHICS": "http",
    "LEADROUTE_FIRMOGRAPHICS_URL": f"https://api.example.com/c?d={{domain}}&api_key={API_KEY}",
    "LEADROUTE_FIRMOGRAPHICS_RATE_LIMIT": "5",
    "LEADROUTE_SCHEMA_REGISTRY_URL": f"https://sr:{URL_PASSWORD}@registry.internal:8081",
}

#: What every Kafka client must carry.
KAFKA_SECURITY = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "router",
    "sasl.password": SASL_PASSWORD,
    "ssl.ca.location": "/etc/kafka/ca.pem",
    "ssl.certificate.location": "/etc/kafka/client.pem",
    "ssl.key.location": "/etc/kafka/client.key",
    "ssl.key.password": KEY_PASSWORD,
    "ssl.endpoint.identification.algorithm": "https",
    "sasl.oauthbearer.client.secret": OAUTH_SECRET,
}


@pytest.fixture
def secure() -> Settings:
    return Settings.from_env(SECURE_ENV)


def _has_security(config: dict[str, Any], what: str) -> None:
    lowered = {k: str(v).lower() for k, v in config.items()}
    missing = {k: v for k, v in KAFKA_SECURITY.items() if lowered.get(k) != v.lower()}
    assert not missing, f"{what} lacks {sorted(missing)}"
    assert config["bootstrap.servers"] == "127.0.0.1:1", what


class Recorder:
    """Stands in for a confluent-kafka client class and keeps the configuration it was given."""

    def __init__(self, kind: str, made: list[tuple[str, dict[str, Any]]]) -> None:
        self.kind = kind
        self.made = made

    def __call__(self, config: dict[str, Any], **_: Any) -> Any:
        self.made.append((self.kind, dict(config)))
        raise _Built


class _Built(Exception):
    """Raised by a recorded client so the code under test stops right after building it."""


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    import confluent_kafka
    import confluent_kafka.admin

    import streams.crm.load
    import streams.demo.run
    import streams.topics

    made: list[tuple[str, dict[str, Any]]] = []
    for module in (confluent_kafka, streams.demo.run, streams.crm.load):
        if hasattr(module, "Producer"):
            monkeypatch.setattr(module, "Producer", Recorder("producer", made))
    for module in (confluent_kafka, streams.demo.run):
        monkeypatch.setattr(module, "Consumer", Recorder("consumer", made))
    for module in (confluent_kafka.admin, streams.topics):
        monkeypatch.setattr(module, "AdminClient", Recorder("admin", made))
    yield made


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_consumer_producer_and_admin_get_the_kafka_security(secure: Settings, stage: str) -> None:
    app = build_application(secure, stage, Health(stage, stats_interval_s=1, stall_after_s=30))
    _has_security(app._consumer._consumer_config, f"{stage} consumer")
    _has_security(app._producer._producer._producer_config, f"{stage} producer")
    _has_security(app._topic_manager._admin._config, f"{stage} admin")


def test_every_cli_kafka_client_gets_the_kafka_security(
    secure: Settings, recorded: list[tuple[str, dict[str, Any]]]
) -> None:
    from streams import topics
    from streams.cli.owners import OwnerPublisher
    from streams.crm.load import CrmPublisher
    from streams.demo import run as demo
    from streams.routing import simulate

    builders = {
        "topics create / run's topic check": lambda: topics.admin_client(secure),
        "owners load": lambda: OwnerPublisher(secure),
        "crm load / crm generate": lambda: CrmPublisher(secure),
        "demo producer": lambda: demo._producer(secure),
        "demo consumer": lambda: demo._consumer(secure),
        "simulate --since": lambda: simulate.read_assigned_topic(secure, 0, None, 10),
    }
    for what, build in builders.items():
        before = len(recorded)
        with pytest.raises(_Built):
            build()
        assert len(recorded) == before + 1, f"{what} built no Kafka client"
        _has_security(recorded[-1][1], what)


def _kwargs(client: Any) -> dict[str, Any]:
    return client.connection_pool.connection_kwargs


def test_every_redis_client_gets_the_password_and_tls(secure: Settings) -> None:
    from streams.wiring import build_enricher_for

    enricher = build_enricher_for(secure)
    firmographics: Any = enricher.firmographics
    clients = {
        "redis_client": redis_client(secure),
        "owner directory (assign, owner-sync, owners CLI, route)": wiring.owner_directory(secure)._client,
        "ledger (assign, owners fairness, route)": wiring.assignment_ledger(secure)._client,
        "CRM mirror (match, crm-sync, route)": wiring.crm_mirror(secure)._client,
        "firmographics cache (enrich)": firmographics._cache._client,
        "firmographics rate limit (enrich)": firmographics._provider._limit_storage.storage,
        "state marker (owner-sync, crm-sync, match, assign)": wiring.state_marker(secure, "crm")._client,
    }
    for what, client in clients.items():
        pool = client.connection_pool
        kwargs = _kwargs(client)
        assert issubclass(pool.connection_class, SSLConnection), f"{what} is not TLS"
        assert kwargs["password"] == REDIS_PASSWORD, what
        assert kwargs["ssl_ca_certs"] == "/etc/redis/ca.pem", what
        assert kwargs["ssl_certfile"] == "/etc/redis/client.pem", what
        assert kwargs["ssl_keyfile"] == "/etc/redis/client.key", what
        assert kwargs["host"] == "redis.internal" and kwargs["port"] == 6380, what
    firmographics._provider.close()


def test_a_password_in_the_url_is_used_when_no_separate_one_is_set() -> None:
    settings = Settings.from_env({"LEADROUTE_REDIS_URL": f"redis://:{URL_PASSWORD}@127.0.0.1:6390/2"})
    kwargs = _kwargs(redis_client(settings))
    assert kwargs["password"] == URL_PASSWORD and kwargs["db"] == 2


def test_the_cluster_setting_makes_a_cluster_client_and_a_cluster_rate_limit_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.from_env(
        {
            "LEADROUTE_REDIS_URL": "rediss://127.0.0.1:7000/0",
            "LEADROUTE_REDIS_CLUSTER": "true",
            "LEADROUTE_REDIS_PASSWORD": REDIS_PASSWORD,
            "LEADROUTE_REDIS_SSL_CA_CERTS": "/etc/redis/ca.pem",
        }
    )
    url, options = rate_limit_storage(settings)
    assert url == "redis+cluster://127.0.0.1:7000/0"
    assert options == {"password": REDIS_PASSWORD, "ssl_ca_certs": "/etc/redis/ca.pem", "ssl": True}
    made: list[tuple[str, dict[str, Any]]] = []

    class Cluster(RedisCluster):
        @classmethod
        def from_url(cls, url: str, **options: Any) -> Any:
            made.append((url, options))
            return "a cluster client"

    monkeypatch.setattr("streams.redis_client.LeadrouteCluster", Cluster)
    assert redis_client(settings) == "a cluster client"
    assert made[0][0] == "rediss://127.0.0.1:7000/0"
    assert made[0][1]["password"] == REDIS_PASSWORD and made[0][1]["ssl_ca_certs"] == "/etc/redis/ca.pem"


def test_a_separate_password_replaces_the_urls_and_keeps_its_user_name() -> None:
    settings = Settings.from_env(
        {"LEADROUTE_REDIS_URL": f"redis://router:{URL_PASSWORD}@h:1/0", "LEADROUTE_REDIS_PASSWORD": "p2"}
    )
    kwargs = _kwargs(redis_client(settings))
    assert (kwargs["username"], kwargs["password"]) == ("router", "p2")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"LEADROUTE_REDIS_SSL_CA_CERTS": "/ca.pem"}, "rediss://"),
        ({"LEADROUTE_REDIS_URL": "http://127.0.0.1:6379/0"}, "must start with"),
        (
            {"LEADROUTE_REDIS_CLUSTER": "true", "LEADROUTE_REDIS_URL": "redis://127.0.0.1:7000/3"},
            "database 0",
        ),
    ],
)
def test_inconsistent_redis_security_settings_are_refused(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Settings.from_env(env)


def test_public_view_masks_every_secret_and_keeps_where_clients_connect(secure: Settings) -> None:
    view = secure.public_view()
    text = repr(view)
    for secret in SECRETS:
        assert secret not in text
    assert view["redis_url"] == "rediss://router:***@redis.internal:6380/3"
    assert view["schema_registry_url"] == "https://sr:***@registry.internal:8081"
    assert view["firmographics_url"] == "https://api.example.com/c?d={domain}&api_key=***"
    assert "ssl.endpoint.identification.algorithm=https" in view["kafka_config"]
    assert view["kafka_sasl_password"] == view["kafka_ssl_key_password"] == view["redis_password"] == "***"
    assert secure.redis_location() == "rediss://router:***@redis.internal:6380/3"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:1/0", "redis://:***@host:1/0"),
        ("redis://pw@host:1/0", "redis://***@host:1/0"),
        ("https://h/x?token=abc&d=1", "https://h/x?token=***&d=1"),
    ],
)
def test_redacted_url(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


def test_masked_kafka_config() -> None:
    assert masked_kafka_config("sasl.password=x,linger.ms=5,ssl.key.pem=y") == (
        "sasl.password=***,linger.ms=5,ssl.key.pem=***"
    )


def test_a_malformed_kafka_setting_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"LEADROUTE_KAFKA_CONFIG": f"linger.ms=5,sasl.password:{SASL_PASSWORD}"})
    assert "entry 2" in str(refused.value) and SASL_PASSWORD not in str(refused.value)


def test_every_secret_setting_is_marked_secret() -> None:
    secret = {spec.name for spec in SETTINGS_FIELDS if spec.metadata["secret"]}
    assert {
        "kafka_sasl_password",
        "kafka_ssl_key_password",
        "redis_password",
        "firmographics_headers",
    } <= secret


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_config_output_and_every_help_text_hide_the_secrets(tmp_path: Path) -> None:
    from streams.cli.main import main

    runner = CliRunner()
    env = {**SECURE_ENV, "LEADROUTE_FIRMOGRAPHICS_HEADERS": f"X-Api-Key={API_KEY}"}
    shown = runner.invoke(main, ["config"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "rediss://router:***@redis.internal" in shown.output
    outputs = {("config",): shown.output}
    for path in [(), *_commands(main)]:
        result = runner.invoke(main, [*path, "--help"], env=env)
        assert result.exit_code == 0, (path, result.output)
        outputs[path] = result.output
    assert len(outputs) > 20
    for path, output in outputs.items():
        for secret in SECRETS:
            assert secret not in output, f"'leadroute {' '.join(path)}' printed a secret"
