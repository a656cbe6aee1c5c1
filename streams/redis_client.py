"""Every Redis client leadroute makes, built from settings in one place.

The stages, the CLI and each adapter need the same AUTH password, TLS files and
cluster choice; built here, a setting added once reaches all of them. Redis
Cluster works because every multi-key script keeps its keys in one hash slot
(``{assign}``, ``{crm}``, ``{owners}`` tags; see the adapters).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.cluster import RedisCluster

from streams.outages import OUTAGE_ERRORS
from streams.settings import Settings

#: Either client: the adapters use only commands both have (scripts, pipelines, scans).
RedisClient = redis.Redis | RedisCluster


class ScriptingClusterPipeline:
    """A Redis Cluster pipeline that runs registered Lua scripts as redis-py's plain pipeline does.

    redis-py refuses ``evalsha`` on a cluster pipeline, and its ``Script`` objects
    call exactly that; yet EVALSHA routes by its keys' slot like any keyed
    command, and every leadroute script keeps its keys under one hash tag. So
    EVALSHA is queued as a plain command, and before the pipeline runs, the
    scripts it uses are checked on every primary (SCRIPT EXISTS) and loaded where
    missing (SCRIPT LOAD), as the plain pipeline does. Everything else is the
    cluster pipeline's own.
    """

    def __init__(self, pipeline: Any, client: LeadrouteCluster) -> None:
        self._pipeline = pipeline
        self._client = client
        self._shas: set[str] = set()

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> ScriptingClusterPipeline:
        self._shas.add(sha)
        self._pipeline.execute_command("EVALSHA", sha, numkeys, *keys_and_args)
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        known = [sha for sha in self._shas if sha in self._client.scripts]
        if known:
            for sha, exists in zip(known, self._client.script_exists(*known), strict=True):
                if not exists:
                    self._client.script_load(self._client.scripts[sha])
        self._shas.clear()
        return list(self._pipeline.execute(raise_on_error=raise_on_error))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)

    def __enter__(self) -> ScriptingClusterPipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self._pipeline.reset()


class LeadrouteCluster(RedisCluster):
    """A cluster client whose pipelines run the scripts registered on it (see ScriptingClusterPipeline)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scripts: dict[str, Any] = {}

    def register_script(self, script: Any) -> Any:
        registered = super().register_script(script)
        self.scripts[registered.sha] = script
        return registered

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        return ScriptingClusterPipeline(super().pipeline(transaction, shard_hint), self)


def connection_pool_for(client: Any, key: str) -> Any:
    """The connection pool that serves ``key``: the client's own, or on a cluster its slot's primary's.

    For code that talks to connections directly (the CRM look-up streams its
    replies); on a cluster every key of one hash tag is on one node.
    """
    if isinstance(client, RedisCluster):
        return client.get_node_from_key(key).redis_connection.connection_pool
    return client.connection_pool


def redis_options(settings: Settings) -> dict[str, Any]:
    """Connection options beyond the URL: the AUTH password and the TLS files."""
    options: dict[str, Any] = {}
    if settings.redis_password:
        options["password"] = settings.redis_password
    for name, value in (
        ("ssl_ca_certs", settings.redis_ssl_ca_certs),
        ("ssl_certfile", settings.redis_ssl_certfile),
        ("ssl_keyfile", settings.redis_ssl_keyfile),
    ):
        if value:
            options[name] = value
    return options


def redis_client(
    settings: Settings,
    *,
    socket_timeout: float | None = 5.0,
    socket_connect_timeout: float | None = 5.0,
    **extra: Any,
) -> Any:
    """A client for LEADROUTE_REDIS_URL with every security and cluster setting applied.

    Typed ``Any`` because redis-py's two clients share no base class; both are a
    :data:`RedisClient`.
    """
    options = {
        **redis_options(settings),
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        **extra,
    }
    url = connect_url(settings)
    if settings.redis_cluster:
        return LeadrouteCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def connect_url(settings: Settings) -> str:
    """LEADROUTE_REDIS_URL, without its password when LEADROUTE_REDIS_PASSWORD replaces it.

    redis-py lets a URL's password win over the keyword argument, so the
    separate setting can only win if the URL's is taken out.
    """
    url = settings.redis_url
    if not settings.redis_password:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.partition(":")[0]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redis_answers(settings: Settings, timeout: float = 1.0) -> bool:
    """Whether the configured Redis answers a PING (with its password and TLS) within ``timeout``."""
    try:
        client = redis_client(settings, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except OUTAGE_ERRORS:
        return False


def rate_limit_storage(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The ``limits`` storage URI and options for the firmographics rate limit shared in Redis.

    ``limits`` names a cluster with its own scheme and takes the TLS and AUTH
    options as keyword arguments, passed through to redis-py.
    """
    url = connect_url(settings)
    options = redis_options(settings)
    if settings.redis_cluster:
        scheme, rest = url.split("://", 1)
        if scheme.lower() == "rediss":
            options["ssl"] = True
        url = f"redis+cluster://{rest}"
    return url, options
