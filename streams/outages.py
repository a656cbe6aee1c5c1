"""The one rule for "Redis is down": which errors mean it, and the sentence a stage stops with.

A Redis that cannot be reached, times out, refuses commands (out of memory,
read-only replica, cluster down) or loses its cluster slots is not the lead's
fault, so the stage must stop with exit code 5 and retry the record after the
restart rather than dead-letter it. Every adapter and stage asks here, so they
never disagree about which errors those are.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import redis
from redis.exceptions import RedisClusterException

from processors.errors import DependencyUnavailable

#: Errors that mean Redis (or the network to it) is not serving; builtin TimeoutError is an OSError.
#: A command Redis refuses for its content (a script error, a wrong type) is not among them: it
#: is that record's problem, so it is dead-lettered, and the dead-letter brake stops a stage
#: whose every record fails that way, instead of an outage restarting it for ever.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,  # includes BusyLoadingError: Redis still loading its data
    redis.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica after a failover
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
    RedisClusterException,
    OSError,
)
#: The subset worth a short retry before giving up: the connection itself failed.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)

_T = TypeVar("_T")


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGE_ERRORS)


def unavailable(what: str, error: BaseException) -> DependencyUnavailable:
    """The exception a stage stops with: ``what`` (e.g. "the CRM mirror in Redis") and the cause."""
    if isinstance(error, redis.ResponseError):  # out of memory, read-only, cluster down
        return DependencyUnavailable(f"{what} refused the command: {error}")
    return DependencyUnavailable(f"{what} is unreachable: {error}")


@contextlib.contextmanager
def redis_outage(what: str) -> Iterator[None]:
    """Turns an outage error raised inside into :class:`DependencyUnavailable` naming ``what``."""
    try:
        yield
    except DependencyUnavailable:
        raise
    except OUTAGE_ERRORS as error:
        raise unavailable(what, error) from error


def retrying(what: str, call: Callable[[], _T], attempts: int = 3, first_delay: float = 0.4) -> _T:
    """``call()``, retried briefly on connection trouble (it must be safe to repeat), then an outage.

    Other errors go through unchanged, so a caller can still handle (say) NOSCRIPT itself.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except TRANSIENT_ERRORS as error:
            if attempt == attempts:
                raise unavailable(what, error) from error
            time.sleep(first_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
