"""Every setting leadroute has, with its env var, CLI flag, default and meaning.

This is the only module that knows setting names. The CLI builds its flags from
:data:`SETTINGS_FIELDS`, so a setting added here is at once a flag, an env var
and a line in ``--help``.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

ProcessingGuarantee = Literal["exactly-once", "at-least-once"]

#: Highest LEADROUTE_MAX_CUSTOM_BYTES: Kafka's default message size limit is 1 MB.
MAX_CUSTOM_BYTES_LIMIT = 1_000_000


def _setting(default: Any, env: str, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration; build it with :meth:`from_env` and override per test."""

    kafka_bootstrap: str = _setting(
        "127.0.0.1:9092", "LEADROUTE_KAFKA_BOOTSTRAP", "Kafka bootstrap servers, host:port[,…]."
    )
    kafka_security_protocol: str | None = _setting(
        None, "LEADROUTE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = _setting(
        None, "LEADROUTE_KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER."
    )
    kafka_sasl_username: str | None = _setting(None, "LEADROUTE_KAFKA_SASL_USERNAME", "SASL user name.")
    kafka_sasl_password: str | None = _setting(
        None, "LEADROUTE_KAFKA_SASL_PASSWORD", "SASL password.", secret=True
    )
    kafka_ssl_ca_location: str | None = _setting(
        None, "LEADROUTE_KAFKA_SSL_CA_LOCATION", "CA certificate file for SSL."
    )
    kafka_ssl_certificate_location: str | None = _setting(
        None,
        "LEADROUTE_KAFKA_SSL_CERTIFICATE_LOCATION",
        "Client certificate (PEM) for SSL with client authentication (mutual TLS).",
    )
    kafka_ssl_key_location: str | None = _setting(
        None, "LEADROUTE_KAFKA_SSL_KEY_LOCATION", "Private key (PEM) of that client certificate."
    )
    kafka_ssl_key_password: str | None = _setting(
        None, "LEADROUTE_KAFKA_SSL_KEY_PASSWORD", "Password of that private key.", secret=True
    )
    kafka_config: str | None = _setting(
        None,
        "LEADROUTE_KAFKA_CONFIG",
        "Extra librdkafka settings passed through untouched: key=value,key=value.",
    )
    schema_registry_url: str | None = _setting(
        None,
        "LEADROUTE_SCHEMA_REGISTRY_URL",
        "Confluent Schema Registry URL; enables Avro in Confluent wire format on leads.raw.",
    )
    redis_url: str = _setting(
        "redis://127.0.0.1:6379/0", "LEADROUTE_REDIS_URL", "Redis URL for routing state."
    )
    redis_password: str | None = _setting(
        None,
        "LEADROUTE_REDIS_PASSWORD",
        "Redis AUTH password, kept out of LEADROUTE_REDIS_URL (wins over a password in the URL).",
        secret=True,
    )
    redis_ssl_ca_certs: str | None = _setting(
        None,
        "LEADROUTE_REDIS_SSL_CA_CERTS",
        "CA certificate file (PEM) that signs the Redis server's certificate; needs a rediss:// URL "
        "(TLS). Unset: the system's CAs.",
    )
    redis_ssl_certfile: str | None = _setting(
        None,
        "LEADROUTE_REDIS_SSL_CERTFILE",
        "Client certificate (PEM) for Redis TLS with client authentication; needs a rediss:// URL.",
    )
    redis_ssl_keyfile: str | None = _setting(
        None, "LEADROUTE_REDIS_SSL_KEYFILE", "Private key (PEM) of that client certificate."
    )
    redis_cluster: bool = _setting(
        False,
        "LEADROUTE_REDIS_CLUSTER",
        "The URL names a node of a Redis Cluster (true/false): connect with a cluster client, which "
        "finds the other nodes. The cluster has one database, so the URL's must be 0.",
    )
    redis_prefix: str = _setting(
        "leadroute", "LEADROUTE_REDIS_PREFIX", "Prefix of every Redis key leadroute writes."
    )
    topic_prefix: str = _setting("", "LEADROUTE_TOPIC_PREFIX", "Prefix of every topic name, e.g. 'prod.'.")
    group_prefix: str = _setting(
        "leadroute", "LEADROUTE_GROUP_PREFIX", "Consumer groups are <prefix>-<stage>."
    )
    processing_guarantee: str = _setting(
        "exactly-once",
        "LEADROUTE_PROCESSING_GUARANTEE",
        "exactly-once (transactions) or at-least-once.",
    )
    commit_interval: float = _setting(
        0.1,
        "LEADROUTE_COMMIT_INTERVAL",
        "Seconds between commits; with exactly-once it is each hop's latency floor.",
    )
    instance_id: str | None = _setting(
        None,
        "LEADROUTE_INSTANCE_ID",
        "This process's stable name; with the stage it makes the Kafka transactional id, so a restarted "
        "process fences its predecessor and aborts its open transaction. Unset: the host name (a pod's "
        "name on Kubernetes). Two processes of one stage on one host need different ids.",
    )
    transaction_timeout_ms: int = _setting(
        10_000,
        "LEADROUTE_TRANSACTION_TIMEOUT_MS",
        "Kafka transaction.timeout.ms under exactly-once: how long a crashed process's open transaction "
        "can hold up the next stage before the broker aborts it.",
    )
    broker_timeout_seconds: float = _setting(
        60.0,
        "LEADROUTE_BROKER_TIMEOUT_SECONDS",
        "Seconds a stage keeps retrying while no Kafka broker answers before it exits with code 4 (run all "
        "then restarts it); meanwhile /healthz reports it unready.",
    )
    group_rejoin_seconds: float = _setting(
        120.0,
        "LEADROUTE_GROUP_REJOIN_SECONDS",
        "Seconds a stage may stay out of its consumer group (after an outage it failed to rejoin) "
        "before it exits with code 4 so that run all or the orchestrator starts it afresh.",
    )
    stall_seconds: float = _setting(
        30.0,
        "LEADROUTE_STALL_SECONDS",
        "Seconds an input may sit behind a transaction nobody commits before /healthz reports the stage "
        "stalled and leadroute_input_stalled turns 1.",
    )
    state_check_seconds: float = _setting(
        3.0,
        "LEADROUTE_STATE_CHECK_SECONDS",
        "How often owner-sync and crm-sync check that Redis still holds their state; a Redis that came back "
        "empty is rebuilt from the compacted topics within about this long.",
    )
    state_wait_seconds: float = _setting(
        20.0,
        "LEADROUTE_STATE_WAIT_SECONDS",
        "Seconds match and assign hold a batch while the owner directory or CRM mirror is being rebuilt "
        "before they exit with code 5 (run all restarts them); under exactly-once at most half the "
        "transaction timeout.",
    )
    ledger_rebuild_hours: float = _setting(
        24.0,
        "LEADROUTE_LEDGER_REBUILD_HOURS",
        "After Redis lost the assignment ledger, the assign stage reads this many hours of leads.assigned "
        "back, so a lead decided in that window and delivered again keeps its owner.",
    )
    batch_size: int = _setting(
        500,
        "LEADROUTE_BATCH_SIZE",
        "Most leads the match and assign stages decide with one Redis round trip; a batch also "
        "ends at every commit.",
    )
    dlq_brake_ratio: float = _setting(
        0.5,
        "LEADROUTE_DLQ_BRAKE_RATIO",
        "A stage that dead-letters more than this share of its last LEADROUTE_DLQ_BRAKE_WINDOW records "
        "for a code that is not the data's (processing_error, schema_mismatch) stops with exit code 7, "
        "and the batch is redone after the fix; 1 never stops on a share.",
    )
    dlq_brake_window: int = _setting(
        200, "LEADROUTE_DLQ_BRAKE_WINDOW", "Records the dead-letter brake's share is measured over."
    )
    dlq_brake_consecutive: int = _setting(
        50,
        "LEADROUTE_DLQ_BRAKE_CONSECUTIVE",
        "A stage stops (exit code 7) after this many such dead letters in a row; 0 never does.",
    )
    fetch_wait_max_ms: int | None = _setting(
        None,
        "LEADROUTE_FETCH_WAIT_MAX_MS",
        "Consumer fetch.wait.max.ms; unset keeps librdkafka's default (500).",
    )
    linger_ms: float | None = _setting(
        None, "LEADROUTE_LINGER_MS", "Producer linger.ms; unset keeps librdkafka's default (5)."
    )
    session_timeout_ms: int | None = _setting(
        None,
        "LEADROUTE_SESSION_TIMEOUT_MS",
        "Consumer session.timeout.ms; unset keeps librdkafka's default (45000).",
    )
    auto_offset_reset: str = _setting(
        "earliest",
        "LEADROUTE_AUTO_OFFSET_RESET",
        "Where a new consumer group starts: earliest loses no lead published before it.",
    )
    partitions: int = _setting(6, "LEADROUTE_PARTITIONS", "Partitions per topic for 'topics create'.")
    replication_factor: int = _setting(
        1, "LEADROUTE_REPLICATION_FACTOR", "Replication factor for 'topics create'."
    )
    metrics_host: str = _setting(
        "0.0.0.0", "LEADROUTE_METRICS_HOST", "Address the /metrics and /healthz server binds."
    )
    metrics_port: int = _setting(
        9400,
        "LEADROUTE_METRICS_PORT",
        "Base port: each stage serves on base + its index (normalize 9401 … assign 9405); 0 "
        "turns the server off.",
    )
    default_queue: str = _setting(
        "inbound-triage",
        "LEADROUTE_DEFAULT_QUEUE",
        "Queue every lead goes to while no routing rules are configured.",
    )
    default_channel: str = _setting("sales", "LEADROUTE_DEFAULT_CHANNEL", "Channel of the default queue.")
    rules_file: str | None = _setting(
        None,
        "LEADROUTE_RULES_FILE",
        "The routing rules (YAML, see docs/rules.md); unset routes every lead to the default queue.",
    )
    rules_reload_seconds: float = _setting(
        2.0,
        "LEADROUTE_RULES_RELOAD_SECONDS",
        "How often the assign stage looks for a changed rules file; a change is loaded without a restart.",
    )
    owners_file: str | None = _setting(
        None,
        "LEADROUTE_OWNERS_FILE",
        "Owners (YAML or CSV) for batch routing and simulation; the stream reads them from the owners topic.",
    )
    max_custom_bytes: int = _setting(
        16_384,
        "LEADROUTE_MAX_CUSTOM_BYTES",
        "Most bytes of custom fields (names and values, UTF-8) a lead carries on; fields beyond it are "
        "dropped and the lead is flagged custom_truncated.",
    )
    assignment_ttl_days: int = _setting(
        30,
        "LEADROUTE_ASSIGNMENT_TTL_DAYS",
        "How long a lead's decision is remembered so a replay gets the same one.",
    )
    duplicate_window_days: int = _setting(
        30,
        "LEADROUTE_DUPLICATE_WINDOW_DAYS",
        "A lead with the e-mail, phone, or name and company of a lead routed this many days ago or "
        "less is its duplicate (docs/assignment.md); 0 turns the check off.",
    )
    regions_file: str | None = _setting(
        None,
        "LEADROUTE_REGIONS_FILE",
        "YAML region map laid over the shipped one (docs/enrichment.md); refused whole if invalid.",
    )
    titles_file: str | None = _setting(
        None, "LEADROUTE_TITLES_FILE", "Job-title vocabulary YAML used instead of the shipped one."
    )
    segments_file: str | None = _setting(
        None,
        "LEADROUTE_SEGMENTS_FILE",
        "YAML segment definitions laid over the shipped ones (docs/segmentation.md); refused whole if "
        "invalid.",
    )
    free_mail_domains: str | None = _setting(
        None, "LEADROUTE_FREE_MAIL_DOMAINS", "Extra free-mail domains, comma-separated."
    )
    disposable_domains: str | None = _setting(
        None, "LEADROUTE_DISPOSABLE_DOMAINS", "Extra disposable-mail domains, comma-separated."
    )
    business_domains: str | None = _setting(
        None,
        "LEADROUTE_BUSINESS_DOMAINS",
        "Domains never treated as free-mail or disposable (e.g. your own), comma-separated.",
    )
    firmographics: str = _setting(
        "none",
        "LEADROUTE_FIRMOGRAPHICS",
        "Firmographics provider: none, dataset (a local CSV) or http (a JSON API).",
    )
    firmographics_name: str | None = _setting(
        None,
        "LEADROUTE_FIRMOGRAPHICS_NAME",
        "Provider name in provenance (firmographics:<name>); default 'dataset' or the URL's host.",
    )
    firmographics_file: str | None = _setting(
        None,
        "LEADROUTE_FIRMOGRAPHICS_FILE",
        "CSV dataset for the dataset provider; unset uses the shipped demo sample.",
    )
    firmographics_url: str | None = _setting(
        None,
        "LEADROUTE_FIRMOGRAPHICS_URL",
        "URL template for the http provider, with {domain}, e.g. https://api.example.com/c?d={domain}.",
    )
    firmographics_fields: str | None = _setting(
        None,
        "LEADROUTE_FIRMOGRAPHICS_FIELDS",
        "How to read the API's JSON: company_name=a.b,employees=c.d,annual_revenue=…,industry=…,"
        "hq_country_code=….",
    )
    firmographics_headers: str | None = _setting(
        None,
        "LEADROUTE_FIRMOGRAPHICS_HEADERS",
        "Request headers for the http provider, Name=value,Name=value (e.g. an API key).",
        secret=True,
    )
    firmographics_timeout: float = _setting(
        1.0,
        "LEADROUTE_FIRMOGRAPHICS_TIMEOUT",
        "Most seconds one lead may wait on the provider, retries included; then it goes on without.",
    )
    firmographics_retries: int = _setting(
        2, "LEADROUTE_FIRMOGRAPHICS_RETRIES", "Extra attempts after a timeout, 5xx or 429."
    )
    firmographics_backoff: float = _setting(
        0.1, "LEADROUTE_FIRMOGRAPHICS_BACKOFF", "First retry wait in seconds; grows exponentially."
    )
    firmographics_breaker_failures: int = _setting(
        5,
        "LEADROUTE_FIRMOGRAPHICS_BREAKER_FAILURES",
        "Failed look-ups in a row that open the circuit (no calls until it resets).",
    )
    firmographics_breaker_reset: float = _setting(
        30.0, "LEADROUTE_FIRMOGRAPHICS_BREAKER_RESET", "Seconds the circuit stays open before a trial."
    )
    firmographics_rate_limit: float = _setting(
        0.0,
        "LEADROUTE_FIRMOGRAPHICS_RATE_LIMIT",
        "Most provider requests per second across all enrich workers (shared in Redis); 0 = no limit.",
    )
    firmographics_cache_ttl: int = _setting(
        7 * 86400,
        "LEADROUTE_FIRMOGRAPHICS_CACHE_TTL",
        "Seconds a found company is cached in Redis; 0 turns the cache off.",
    )
    firmographics_negative_ttl: int = _setting(
        86400,
        "LEADROUTE_FIRMOGRAPHICS_NEGATIVE_TTL",
        "Seconds a 'not found' answer is cached, so unknown domains are not asked again at once.",
    )
    match_accept_score: float = _setting(
        92.0,
        "LEADROUTE_MATCH_ACCEPT_SCORE",
        "Fuzzy company-name score (0-100) at which a lead is matched to an account.",
    )
    match_review_score: float = _setting(
        85.0,
        "LEADROUTE_MATCH_REVIEW_SCORE",
        "Scores from here up to the accept score match but are flagged for review; below, no match.",
    )
    match_person_score: float = _setting(
        90.0,
        "LEADROUTE_MATCH_PERSON_SCORE",
        "Company similarity needed to call a same-name person a duplicate.",
    )
    match_name_candidates: int = _setting(
        15,
        "LEADROUTE_MATCH_NAME_CANDIDATES",
        "Accounts a company-name look-up scores at most (by shared words): more find a few more "
        "matches in very large CRMs, fewer are faster.",
    )
    match_roll_up_to_parent: bool = _setting(
        False,
        "LEADROUTE_MATCH_ROLL_UP_TO_PARENT",
        "Match a subsidiary's leads to its parent account (true/false).",
    )
    log_level: str = _setting("INFO", "LEADROUTE_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR.")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``LEADROUTE_*`` variables, then explicit overrides."""
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            text = environ.get(spec.metadata["env"])
            if text is not None and text != "":
                values[spec.name] = _parse(spec.type, text, spec.metadata["env"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None}).validated()

    def validated(self) -> Settings:
        if self.processing_guarantee not in ("exactly-once", "at-least-once"):
            raise ValueError(
                "LEADROUTE_PROCESSING_GUARANTEE must be exactly-once or at-least-once, "
                f"not {self.processing_guarantee!r}"
            )
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise ValueError("LEADROUTE_AUTO_OFFSET_RESET must be earliest or latest")
        if self.commit_interval <= 0:
            raise ValueError("LEADROUTE_COMMIT_INTERVAL must be a positive number of seconds")
        if not 1_000 <= self.transaction_timeout_ms <= 900_000:
            raise ValueError("LEADROUTE_TRANSACTION_TIMEOUT_MS must be between 1000 and 900000")
        if self.transaction_timeout_ms < 2_000 * self.commit_interval:
            raise ValueError(
                "LEADROUTE_TRANSACTION_TIMEOUT_MS must be at least twice LEADROUTE_COMMIT_INTERVAL, or "
                "every transaction would time out before it commits"
            )
        if self.broker_timeout_seconds <= 0:
            raise ValueError("LEADROUTE_BROKER_TIMEOUT_SECONDS must be a positive number of seconds")
        if self.group_rejoin_seconds <= 0:
            raise ValueError("LEADROUTE_GROUP_REJOIN_SECONDS must be a positive number of seconds")
        if self.stall_seconds <= 0:
            raise ValueError("LEADROUTE_STALL_SECONDS must be a positive number of seconds")
        if self.instance_id is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", self.instance_id):
            raise ValueError(
                "LEADROUTE_INSTANCE_ID may hold only letters, digits, '.', '_' and '-' (at most 100)"
            )
        if self.state_check_seconds <= 0:
            raise ValueError("LEADROUTE_STATE_CHECK_SECONDS must be a positive number of seconds")
        if self.state_wait_seconds <= 0:
            raise ValueError("LEADROUTE_STATE_WAIT_SECONDS must be a positive number of seconds")
        if not 0 <= self.ledger_rebuild_hours <= 24 * 90:
            raise ValueError("LEADROUTE_LEDGER_REBUILD_HOURS must be between 0 and 2160 (90 days)")
        parse_kafka_config(self.kafka_config)  # refused at load, not when the first client is built
        scheme = urlsplit(self.redis_url).scheme.lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError("LEADROUTE_REDIS_URL must start with redis://, rediss:// (TLS) or unix://")
        if scheme != "rediss" and (
            self.redis_ssl_ca_certs or self.redis_ssl_certfile or self.redis_ssl_keyfile
        ):
            raise ValueError(
                "LEADROUTE_REDIS_SSL_* settings need a rediss:// LEADROUTE_REDIS_URL (Redis over TLS)"
            )
        if self.redis_cluster and (
            scheme == "unix" or urlsplit(self.redis_url).path.strip("/") not in ("", "0")
        ):
            raise ValueError(
                "LEADROUTE_REDIS_CLUSTER needs a redis:// or rediss:// URL of database 0 "
                "(a cluster has no other)"
            )
        if self.rules_reload_seconds <= 0:
            raise ValueError("LEADROUTE_RULES_RELOAD_SECONDS must be a positive number of seconds")
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("LEADROUTE_BATCH_SIZE must be between 1 and 10000")
        if not 0 < self.dlq_brake_ratio <= 1:
            raise ValueError("LEADROUTE_DLQ_BRAKE_RATIO must be more than 0 and at most 1")
        if not 1 <= self.dlq_brake_window <= 100_000:
            raise ValueError("LEADROUTE_DLQ_BRAKE_WINDOW must be between 1 and 100000 records")
        if self.dlq_brake_consecutive < 0:
            raise ValueError("LEADROUTE_DLQ_BRAKE_CONSECUTIVE must be 0 (off) or a number of records")
        if not 0 <= self.max_custom_bytes <= MAX_CUSTOM_BYTES_LIMIT:
            raise ValueError(
                f"LEADROUTE_MAX_CUSTOM_BYTES must be between 0 and {MAX_CUSTOM_BYTES_LIMIT} "
                "(a lead rides on Kafka, whose messages are 1 MB by default)"
            )
        if self.partitions < 1 or self.replication_factor < 1:
            raise ValueError("partitions and replication factor must be at least 1")
        if not 0 <= self.match_review_score <= self.match_accept_score <= 100:
            raise ValueError(
                "match scores must satisfy 0 <= LEADROUTE_MATCH_REVIEW_SCORE "
                "<= LEADROUTE_MATCH_ACCEPT_SCORE <= 100"
            )
        if not 1 <= self.match_name_candidates <= 200:
            raise ValueError("LEADROUTE_MATCH_NAME_CANDIDATES must be between 1 and 200")
        if self.firmographics not in ("none", "dataset", "http"):
            raise ValueError("LEADROUTE_FIRMOGRAPHICS must be none, dataset or http")
        if self.firmographics == "http" and not self.firmographics_url:
            raise ValueError("LEADROUTE_FIRMOGRAPHICS=http needs LEADROUTE_FIRMOGRAPHICS_URL")
        if self.firmographics_timeout <= 0:
            raise ValueError("LEADROUTE_FIRMOGRAPHICS_TIMEOUT must be a positive number of seconds")
        if min(self.firmographics_retries, self.firmographics_cache_ttl, self.firmographics_negative_ttl) < 0:
            raise ValueError("firmographics retries and cache TTLs cannot be negative")
        return self

    def kafka_client_config(self) -> dict[str, Any]:
        """Security and pass-through settings shared by every Kafka client."""
        config: dict[str, Any] = {}
        for key, value in (
            ("security.protocol", self.kafka_security_protocol),
            ("sasl.mechanism", self.kafka_sasl_mechanism),
            ("sasl.username", self.kafka_sasl_username),
            ("sasl.password", self.kafka_sasl_password),
            ("ssl.ca.location", self.kafka_ssl_ca_location),
            ("ssl.certificate.location", self.kafka_ssl_certificate_location),
            ("ssl.key.location", self.kafka_ssl_key_location),
            ("ssl.key.password", self.kafka_ssl_key_password),
        ):
            if value:
                config[key] = value
        config.update(parse_kafka_config(self.kafka_config))
        return config

    def consumer_config(self) -> dict[str, Any]:
        config = self.kafka_client_config()
        if self.fetch_wait_max_ms is not None:
            config["fetch.wait.max.ms"] = self.fetch_wait_max_ms
        if self.session_timeout_ms is not None:
            config["session.timeout.ms"] = self.session_timeout_ms
        return config

    def instance(self) -> str:
        """The configured instance id, or the host name: stable across restarts of one process."""
        if self.instance_id:
            return self.instance_id
        host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:100]
        return host or "leadroute"

    def state_wait_limit(self) -> float:
        """How long a stage may hold a batch for state: never long enough for its transaction to time out."""
        if self.processing_guarantee == "exactly-once":
            return min(self.state_wait_seconds, self.transaction_timeout_ms / 2_000)
        return self.state_wait_seconds

    def transactional_id(self, stage: str) -> str:
        """One per stage instance and the same after every restart, so a restart fences the old one."""
        return f"{self.group_prefix}-{stage}-{self.instance()}"

    def producer_config(self) -> dict[str, Any]:
        config = self.kafka_client_config()
        if self.linger_ms is not None:
            config["linger.ms"] = self.linger_ms
        return config

    def public_view(self) -> dict[str, Any]:
        """Settings with secrets masked, for logs and ``leadroute config``.

        Secrets also hide inside other settings: a password in a URL, a
        ``sasl.password`` in the pass-through Kafka settings, an API key in a
        query string. Those parts are masked and the rest is kept, so the view
        still shows where each client connects.
        """
        view: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.metadata["secret"] and value:
                value = MASK
            elif spec.name == "kafka_config" and value:
                value = masked_kafka_config(value)
            elif spec.name.endswith("_url") and isinstance(value, str):
                value = redacted_url(value)
            view[spec.name] = value
        return view

    def redis_location(self) -> str:
        """Where Redis is, for messages to a person: the URL without its password."""
        return redacted_url(self.redis_url) + (" (cluster)" if self.redis_cluster else "")


SETTINGS_FIELDS = tuple(fields(Settings))

#: The settings that shape a lead routed in-process (``leadroute route``, ``explain``): Redis for
#: the state, the fallback queue, enrichment, matching and logging. Those commands list only
#: these in ``--help``; the others (Kafka, topics, the running stages) still work as flags and
#: env vars but change nothing there.
IN_PROCESS_SETTINGS: frozenset[str] = frozenset(
    {
        "redis_url", "redis_password", "redis_ssl_ca_certs", "redis_ssl_certfile", "redis_ssl_keyfile",
        "redis_cluster", "redis_prefix",
        "default_queue", "default_channel", "max_custom_bytes", "assignment_ttl_days",
        "regions_file", "titles_file", "segments_file",
        "free_mail_domains", "disposable_domains", "business_domains",
        *(spec.name for spec in SETTINGS_FIELDS if spec.name.startswith(("firmographics", "match_"))),
        "log_level",
    }
)  # fmt: skip

MASK = "***"

#: Pass-through Kafka settings whose values are secrets: passwords, OAuth client secrets, keys in PEM,
#: and the OAUTHBEARER config string (it may hold a client secret).
_SECRET_KAFKA_KEY = re.compile(r"password|secret|key\.pem|sasl\.oauthbearer\.config|sasl\.jaas", re.I)
#: Query parameters that carry credentials in provider URLs.
_SECRET_QUERY_NAME = re.compile(r"key|token|secret|password|passwd|pwd|sig|auth|credential", re.I)


def redacted_url(url: str) -> str:
    """``url`` with the password of its user part and credential-like query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        # redis://secret@host puts the password where the user name goes.
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(
            f"{name}={MASK}" if sep and _SECRET_QUERY_NAME.search(name) else f"{name}{sep}{value}"
            for name, sep, value in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def masked_kafka_config(text: str) -> str:
    """LEADROUTE_KAFKA_CONFIG with the values of secret keys masked."""
    pairs = []
    for pair in text.split(","):
        key, sep, _ = pair.partition("=")
        pairs.append(f"{key}{sep}{MASK}" if sep and _SECRET_KAFKA_KEY.search(key) else pair)
    return ",".join(pairs)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as ``LEADROUTE_*`` variables, to hand to child processes."""
    env: dict[str, str] = {}
    for spec in SETTINGS_FIELDS:
        value = getattr(settings, spec.name)
        if value is not None:
            env[spec.metadata["env"]] = str(value)
    return env


def parse_kafka_config(text: str | None) -> dict[str, str]:
    """``key=value,key=value`` → dict; refuses a malformed pair with a clear reason."""
    config: dict[str, str] = {}
    for number, pair in enumerate((text or "").split(","), start=1):
        pair = pair.strip()
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            # Not echoed: a mistyped "sasl.password:…" would print the password.
            raise ValueError(
                f"LEADROUTE_KAFKA_CONFIG entry {number} is not key=value (not shown: it may hold a secret)"
            )
        config[key.strip()] = value.strip()
    return config


def _parse(annotation: Any, text: str, env: str) -> Any:
    kind = str(annotation)
    if kind.startswith("bool"):
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{env}={text!r} is not true or false")
    try:
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError:
        raise ValueError(f"{env}={text!r} is not a number") from None
    return text
