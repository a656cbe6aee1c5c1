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
from redis.exceptions import RedisClusterException

from streams.settings import Settings

#: Either client: the adapters use only commands both have (scripts, pipelines, scans).
RedisClient = redis.Redis | RedisCluster


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
        return RedisCluster.from_url(url, **options)
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
    except (redis.RedisError, RedisClusterException, OSError):
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
