"""The one rule for which errors mean Redis is down (streams.outages)."""

from __future__ import annotations

import pytest
import redis
from redis.exceptions import ClusterDownError, RedisClusterException

from processors.errors import DependencyUnavailable
from streams.outages import redis_outage, retrying


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Connection refused"),
        redis.TimeoutError("Timeout reading from socket"),
        redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'"),
        redis.exceptions.ReadOnlyError("READONLY You can't write against a read only replica."),
        ClusterDownError("CLUSTERDOWN The cluster is down"),
        RedisClusterException("Redis Cluster cannot be connected"),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
    ],
)
def test_every_redis_failure_is_an_outage_naming_what_is_down(error: Exception) -> None:
    outage = pytest.raises(DependencyUnavailable, match=r"^the CRM mirror in Redis (is unreachable|refused)")
    with outage, redis_outage("the CRM mirror in Redis"):
        raise error


def test_a_bug_is_not_an_outage() -> None:
    with pytest.raises(KeyError), redis_outage("the CRM mirror in Redis"):
        raise KeyError("lead_id")


def test_a_command_refused_for_its_content_is_the_records_problem_not_an_outage() -> None:
    with pytest.raises(redis.ResponseError), redis_outage("the ledger in Redis"):
        raise redis.ResponseError("user_script:12: Script attempted to access nonexistent global variable")


def test_retrying_retries_a_dropped_connection_then_gives_up_as_an_outage() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise redis.ConnectionError("reset")
        return "ok"

    assert retrying("the ledger in Redis", flaky, first_delay=0) == "ok"

    def down() -> str:
        raise redis.ConnectionError("refused")

    with pytest.raises(DependencyUnavailable, match="the ledger in Redis is unreachable: refused"):
        retrying("the ledger in Redis", down, first_delay=0)


def test_retrying_hands_a_refused_command_back_unchanged() -> None:
    def noscript() -> str:
        raise redis.exceptions.NoScriptError("NOSCRIPT")

    with pytest.raises(redis.exceptions.NoScriptError):
        retrying("the CRM mirror in Redis", noscript, first_delay=0)
