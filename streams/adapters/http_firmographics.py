"""A firmographics provider over any HTTP JSON API, bounded by one time budget per look-up.

Enrichment must never hold a lead back, so a look-up ends within
``timeout_s`` whatever the provider does: retries, back-off, rate-limit waits
and body reads all come out of that one budget, and the budget is enforced on
every socket operation (a server trickling one byte at a time, or sending
headers slowly, cannot stretch it). Failures are outcomes, never exceptions,
and a circuit breaker stops asking a provider that keeps failing.

How responses are read (a deliberate choice):

* 2xx: the mapped fields form the record; when none of them has a value (or
  the body is empty or JSON ``null``) the answer is "not_found".
* ``not_found_statuses`` (404 by default): "not_found", an answer like any other.
* 429, 408, 5xx, timeouts, connection errors, non-JSON and oversized bodies:
  retried within the budget (429 honours Retry-After when it fits), then
  "unavailable".
* Any other 4xx (400, 401, 403, ...): "unavailable" at once, not retried, and
  a circuit-breaker failure. It nearly always means a wrong key, an exhausted
  plan or a wrong URL template: retrying cannot fix it and the breaker stops
  us hammering the API. It is logged at WARNING (at most once a minute). An API
  that answers an unknown company with, say, 422 or 410 should list that
  status in ``not_found_statuses``.

Per-look-up detail (which domain, which status) is logged at DEBUG only.
Header values (credentials) are never logged or shown in ``repr``.

Known limit: name resolution (``getaddrinfo``) is not interruptible, so a hung
DNS resolver is bounded by the system resolver's own timeout, not ``timeout_s``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from fractions import Fraction
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

import httpcore
import httpx
import pybreaker
import redis
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from tenacity import RetryCallState, Retrying, retry_if_exception

from processors.enrichment.models import FirmographicsRecord, Lookup
from processors.normalize.countries import country_code_for
from processors.normalize.employees import MAX_EMPLOYEES, parse_count
from streams.metrics import (
    FIRMOGRAPHICS_CIRCUIT_OPEN,
    FIRMOGRAPHICS_ERRORS,
    FIRMOGRAPHICS_LOOKUPS,
    FIRMOGRAPHICS_SECONDS,
)

logger = logging.getLogger(__name__)

#: Record fields a provider response can fill ("domain" is always the looked-up domain).
MAPPABLE_FIELDS: Final = ("company_name", "employees", "annual_revenue", "industry", "hq_country_code")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_MAX_TEXT = 256
_DRAIN_BYTES = 65_536
_WARN_INTERVAL_S = 60.0
#: How long the rate limit is skipped after its store failed.
_STORE_BACKOFF_S = 5.0

#: When the current look-up must end (``time.monotonic()``); read by the network layer.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "firmographics_deadline", default=None
)


@dataclass(frozen=True, slots=True)
class HttpProviderConfig:
    """How to ask one HTTP JSON firmographics API, and how long we are prepared to wait."""

    name: str
    url_template: str
    field_map: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = 1.0
    retries: int = 2
    backoff_s: float = 0.1
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    rate_limit_per_s: float = 0
    rate_limit_storage: str = field(default="memory://", repr=False)
    #: Connection options for a Redis storage (AUTH password, TLS files), passed to redis-py.
    rate_limit_storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: Prefix of the rate-limit keys when the storage is Redis (like every leadroute key).
    rate_limit_key_prefix: str = "leadroute"
    not_found_statuses: frozenset[int] = frozenset({404})
    max_body_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not _NAME.match(self.name):
            problems.append(
                f"provider name {self.name!r} must be 1-200 letters, digits, '.', '_' or '-' "
                "(it appears in metric labels, cache keys and provenance)"
            )
        if "{domain}" not in self.url_template:
            problems.append("url_template must contain '{domain}'")
        if not self.url_template.startswith(("http://", "https://")):
            problems.append("url_template must start with http:// or https://")
        try:
            _check_field_map(self.field_map)
        except ValueError as error:
            problems.append(str(error))
        positive = {"timeout_s": self.timeout_s, "breaker_reset_s": self.breaker_reset_s}
        problems += [
            f"{key} must be positive, not {value!r}" for key, value in positive.items() if value <= 0
        ]
        at_least = {
            "retries": (self.retries, 0),
            "backoff_s": (self.backoff_s, 0),
            "breaker_failures": (self.breaker_failures, 1),
            "rate_limit_per_s": (self.rate_limit_per_s, 0),
            "max_body_bytes": (self.max_body_bytes, 1),
        }
        problems += [
            f"{key} must be at least {low}, not {value!r}"
            for key, (value, low) in at_least.items()
            if value < low
        ]
        if any(not 100 <= status <= 599 for status in self.not_found_statuses):
            problems.append("not_found_statuses must be HTTP status codes")
        if problems:
            raise ValueError(f"Firmographics provider {self.name!r}: " + "; ".join(problems) + ".")

    @classmethod
    def parse_field_map(cls, text: str) -> dict[str, str]:
        """Parse "company_name=company.name,employees=metrics.employees" (what an env var holds)."""
        mapping: dict[str, str] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            record_field, separator, path = (piece.strip() for piece in entry.partition("="))
            if not separator or not record_field or not path:
                raise ValueError(
                    f"Field map entry {entry!r} is not field=path, e.g. 'employees=metrics.employees'."
                )
            if record_field in mapping:
                raise ValueError(f"Field map names {record_field!r} twice.")
            mapping[record_field] = path
        _check_field_map(mapping)
        return mapping


def _check_field_map(mapping: Mapping[str, str]) -> None:
    if not mapping:
        raise ValueError("The field map is empty; give field=path pairs such as 'company_name=company.name'.")
    for record_field, path in mapping.items():
        if record_field not in MAPPABLE_FIELDS:
            raise ValueError(
                f"Field map names {record_field!r}, which is not a firmographics field; "
                f"the fields are {', '.join(MAPPABLE_FIELDS)}."
            )
        if not isinstance(path, str) or not path or any(not part.strip() for part in path.split(".")):
            raise ValueError(
                f"Field map path {path!r} for {record_field!r} is not a dotted path such as "
                "'company.name' or 'data.0.name'."
            )


# --- the network layer: every socket operation stops at the look-up's deadline ------------------


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    """The smaller of httpx's own timeout and what is left of the look-up's budget."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the look-up's time budget is spent")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the look-up's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with connects and streams bounded by the deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _clip(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _clip(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses :class:`_DeadlineBackend`.

    httpx offers no way to hand its transport a network backend, so the pool it
    builds is replaced by an equivalent one that has it (httpx is pinned and the
    trickle tests fail if this stops working).
    """

    def __init__(self, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


# --- reading a response ---------------------------------------------------------------------------


def _resolve(document: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path; list items by index ("data.0.name"); None when absent."""
    node = document
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdecimal() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if node is None:
            return None
    return node


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split())[:_MAX_TEXT] or None


def _employees(value: Any) -> int | None:
    """A head count from 1200, 1200.0, "1200", "1,200" or "1.2k"; None when not plausible."""
    count: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        count = value
    elif isinstance(value, float) and math.isfinite(value):
        count = round(value)
    elif isinstance(value, str) and value.strip():
        count = parse_count(value.lower())
        if count is None:
            try:
                number = float(value.strip())
            except ValueError:
                return None
            count = int(number) if math.isfinite(number) and number.is_integer() else None
    return count if count is not None and 1 <= count <= MAX_EMPLOYEES else None


_AMOUNT = re.compile(r"^[$€£¥]?(\d+(?:\.\d+)?)(k|m|mm|b|bn)?$")
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}


def _revenue(value: Any) -> float | None:
    """An amount from 1.5e6, "1,500,000" or "$1.5M"; None for text, negatives, NaN."""
    amount: float | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        amount = float(value)
    elif isinstance(value, str):
        text = re.sub(r"[\s_]", "", value.lower())
        if "," in text and "." in text and text.rfind(",") > text.rfind("."):
            return None  # "1.200,50": ambiguous grouping, not worth guessing
        match = _AMOUNT.match(text.replace(",", ""))
        if match is None:
            return None
        amount = float(match.group(1)) * _SCALE[match.group(2) or ""]
    return amount if amount is not None and math.isfinite(amount) and amount >= 0 else None


def _country(value: Any) -> str | None:
    """ISO alpha-2 from an alpha-2 or alpha-3 code or a country name."""
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    return country_code_for(value)


_COERCE: Mapping[str, Callable[[Any], Any]] = {
    "company_name": _text,
    "employees": _employees,
    "annual_revenue": _revenue,
    "industry": _text,
    "hq_country_code": _country,
}


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None when unusable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


# --- failures -------------------------------------------------------------------------------------


class _AttemptFailed(Exception):
    """One request did not produce an answer; ``kind`` is the error metric's label."""

    def __init__(self, kind: str, detail: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


class _NoSlot(Exception):
    """The rate limit has no free slot before the look-up's deadline."""


class _LookupFailed(Exception):
    """What the circuit breaker is told when a look-up ends unavailable."""


def _succeed() -> None:
    return None


def _fail() -> None:
    raise _LookupFailed


@dataclass
class _Progress:
    """What one look-up has done so far."""

    requests: int = 0
    last_failure: _AttemptFailed | None = None


class _Throttle:
    """Lets a repeated warning through at most once per interval, counting what it held back."""

    def __init__(self, interval_s: float = _WARN_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._next_at = 0.0
        self._held = 0
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        """None while throttled; otherwise how many were held back since the last one."""
        with self._lock:
            now = time.monotonic()
            if now < self._next_at:
                self._held += 1
                return None
            held, self._held, self._next_at = self._held, 0, now + self._interval_s
            return held


class _CircuitGauge(pybreaker.CircuitBreakerListener):
    """Keeps ``leadroute_firmographics_circuit_open`` in step with the breaker."""

    def __init__(self, provider: str) -> None:
        self._provider = provider

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        is_open = new_state.name == pybreaker.STATE_OPEN
        FIRMOGRAPHICS_CIRCUIT_OPEN.labels(self._provider).set(1 if is_open else 0)
        if is_open:
            logger.warning(
                "firmographics provider %s: circuit open after repeated failures; "
                "look-ups skip it for %.0f s",
                self._provider,
                cb.reset_timeout,
            )
        elif new_state.name == pybreaker.STATE_CLOSED and old_state is not None:
            logger.info("firmographics provider %s: circuit closed, provider answers again", self._provider)


# --- the provider ---------------------------------------------------------------------------------

_NORMAL = "normal"
_TRIAL = "trial"


class HttpFirmographicsProvider:
    """A :class:`~processors.ports.FirmographicsProvider` over an HTTP JSON API.

    ``lookup`` never raises and returns within ``config.timeout_s`` (plus a few
    milliseconds). One instance is shared by the threads of a stage process.
    A ``client`` may be injected (a proxy, custom TLS); the per-socket-operation
    deadline then only applies if that client's transport enforces it, and the
    request timeouts plus a deadline check between body chunks are what bound it.
    """

    def __init__(self, config: HttpProviderConfig, *, client: httpx.Client | None = None) -> None:
        self.name = config.name
        self._config = config
        self._paths = {key: tuple(path.split(".")) for key, path in config.field_map.items()}
        self._headers = {"Accept": "application/json", **config.headers}
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=_DeadlineTransport(httpx.Limits(max_connections=32, max_keepalive_connections=16)),
            follow_redirects=True,
            headers={"User-Agent": "leadroute-firmographics"},
        )
        # Too little time for a request to be worth starting.
        self._min_attempt_s = min(0.05, config.timeout_s / 5)
        self._throttles: dict[str, _Throttle] = {}

        self._breaker_storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=config.breaker_failures,
            reset_timeout=config.breaker_reset_s,
            state_storage=self._breaker_storage,
            listeners=[_CircuitGauge(self.name)],
            name=f"firmographics:{self.name}",
        )
        self._reset_after = timedelta(seconds=config.breaker_reset_s)
        self._gate = threading.Lock()
        self._trial_running = False
        FIRMOGRAPHICS_CIRCUIT_OPEN.labels(self.name).set(0)

        self._limiter: MovingWindowRateLimiter | None = None
        self._limit: RateLimitItemPerSecond | None = None
        self._limit_storage: Any = None
        self._store_timeout_s = 0.0
        self._store_down_until = 0.0
        if config.rate_limit_per_s > 0:
            rate = Fraction(config.rate_limit_per_s).limit_denominator(60)
            self._limit = RateLimitItemPerSecond(rate.numerator, rate.denominator, namespace="firmographics")
            options: dict[str, Any] = {}
            if config.rate_limit_storage.startswith(("redis", "valkey")):
                # A slow limit store must not eat the look-up's budget; it fails open instead.
                self._store_timeout_s = min(0.25, config.timeout_s / 4)
                options = {
                    **config.rate_limit_storage_options,
                    "key_prefix": f"{config.rate_limit_key_prefix}:ratelimit",
                    "socket_timeout": self._store_timeout_s,
                    "socket_connect_timeout": self._store_timeout_s,
                }
            self._limit_storage = storage_from_string(config.rate_limit_storage, **options)
            self._limiter = MovingWindowRateLimiter(self._limit_storage)

    def __enter__(self) -> HttpFirmographicsProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (when we made it) and the rate-limit store's connections."""
        if self._owns_client:
            self._client.close()
        connection = getattr(self._limit_storage, "storage", None)
        if isinstance(connection, redis.Redis | redis.RedisCluster):
            connection.close()

    @property
    def circuit_state(self) -> str:
        """The breaker's state: "closed", "open" or "half-open" (for health pages and tests)."""
        return str(self._breaker.current_state)

    def lookup(self, domain: str) -> Lookup:
        """Ask the provider about ``domain``; an outcome within the budget, never an exception."""
        started = time.monotonic()
        deadline = started + self._config.timeout_s
        progress = _Progress()
        try:
            result = self._guarded(domain.strip(), deadline, progress)
        except Exception as error:  # a bug must not stop leads: it becomes "unavailable"
            logger.error(
                "firmographics provider %s: unexpected %s; look-up reported unavailable",
                self.name,
                type(error).__name__,
            )
            logger.debug("unexpected failure looking up %r", domain, exc_info=True)
            result = Lookup("unavailable", detail="internal error")
        FIRMOGRAPHICS_LOOKUPS.labels(self.name, result.outcome).inc()
        if progress.requests:
            FIRMOGRAPHICS_SECONDS.labels(self.name).observe(time.monotonic() - started)
        return result

    # -- circuit breaker ---------------------------------------------------------------------------

    def _guarded(self, domain: str, deadline: float, progress: _Progress) -> Lookup:
        if not domain:
            return Lookup("not_found", detail="no domain")
        ticket = self._admit()
        if ticket is None:
            return Lookup("circuit_open", detail="circuit open")
        verdict: bool | None = None
        try:
            result = self._ask(domain, deadline, progress)
            if result.outcome != "rate_limited":
                verdict = result.outcome != "unavailable"
            return result
        finally:
            self._settle(ticket, verdict)

    def _admit(self) -> str | None:
        """May this look-up ask? Open circuit: no, except one trial once the reset time passed.

        pybreaker's own ``call`` holds its lock for the whole guarded call, which
        would queue every thread behind one slow request (and break the time
        budget), so requests run outside it: the breaker is consulted here and
        told the outcome in :meth:`_settle`.
        """
        with self._gate:
            state = self._breaker.current_state
            if state == pybreaker.STATE_CLOSED:
                return _NORMAL
            if self._trial_running:
                return None
            opened_at = self._breaker_storage.opened_at
            if (
                state == pybreaker.STATE_OPEN
                and opened_at
                and datetime.now(UTC) < opened_at + self._reset_after
            ):
                return None
            self._trial_running = True
            return _TRIAL

    def _settle(self, ticket: str, verdict: bool | None) -> None:
        """Tell the breaker how the look-up went (None: it never asked, so nothing to tell)."""
        with self._gate:
            if ticket == _TRIAL:
                self._trial_running = False
            if verdict is None:
                return
            with contextlib.suppress(_LookupFailed, pybreaker.CircuitBreakerError):
                self._breaker.call(_succeed if verdict else _fail)

    # -- retries -----------------------------------------------------------------------------------

    def _ask(self, domain: str, deadline: float, progress: _Progress) -> Lookup:
        config = self._config

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            if isinstance(failure, _AttemptFailed) and failure.retry_after is not None:
                return failure.retry_after
            # "Equal jitter": half the exponential step is fixed, so a retry never comes
            # at once; half is random, so workers that failed together do not retry together.
            step = config.backoff_s * 2 ** (state.attempt_number - 1)
            delay = step / 2 + random.uniform(0, step / 2)
            return min(delay, max(0.0, deadline - time.monotonic() - self._min_attempt_s))

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > config.retries:
                return True
            return deadline - time.monotonic() - state.upcoming_sleep < self._min_attempt_s

        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, _AttemptFailed) and error.retryable),
            wait=wait,
            stop=stop,
            reraise=True,
        )
        url = config.url_template.replace("{domain}", quote(domain, safe=""))
        try:
            return retrying(self._attempt, domain, url, deadline, progress)
        except _AttemptFailed as failure:
            attempts = "attempt" if progress.requests == 1 else "attempts"
            return Lookup("unavailable", detail=f"{failure.detail} ({progress.requests} {attempts})")
        except _NoSlot:
            if progress.last_failure is None:
                return Lookup("rate_limited", detail="rate limit reached")
            return Lookup(
                "unavailable", detail=f"{progress.last_failure.detail}; no rate-limit slot to retry"
            )

    def _attempt(self, domain: str, url: str, deadline: float, progress: _Progress) -> Lookup:
        self._take_slot(deadline)
        remaining = deadline - time.monotonic()
        progress.requests += 1
        token = _DEADLINE.set(deadline)
        try:
            if remaining <= 0:
                raise httpx.TimeoutException("no time left")
            return self._request(domain, url, remaining, deadline)
        except _AttemptFailed as failure:
            raise self._failed(domain, progress, failure) from None
        except httpx.TimeoutException:
            raise self._failed(
                domain, progress, _AttemptFailed("timeout", "timed out", retryable=True)
            ) from None
        except httpx.NetworkError as error:
            failed = _AttemptFailed("connect", f"network error ({type(error).__name__})", retryable=True)
            raise self._failed(domain, progress, failed) from None
        except httpx.UnsupportedProtocol:
            failed = _AttemptFailed("bad_response", "unsupported URL scheme", retryable=False)
            raise self._failed(domain, progress, failed) from None
        except httpx.HTTPError as error:
            failed = _AttemptFailed(
                "bad_response", f"protocol error ({type(error).__name__})", retryable=True
            )
            raise self._failed(domain, progress, failed) from None
        finally:
            _DEADLINE.reset(token)

    def _failed(self, domain: str, progress: _Progress, failure: _AttemptFailed) -> _AttemptFailed:
        """Count and log one failed request; returns it for raising."""
        progress.last_failure = failure
        FIRMOGRAPHICS_ERRORS.labels(self.name, failure.kind).inc()
        logger.debug(
            "firmographics provider %s: attempt %d for %r failed: %s",
            self.name,
            progress.requests,
            domain,
            failure.detail,
        )
        if failure.kind == "http_4xx" and not failure.retryable:
            self._warn(
                "http_4xx",
                "firmographics provider %s answers %s; check its credentials, plan and URL template",
                self.name,
                failure.detail,
            )
        return failure

    def _warn(self, key: str, message: str, *args: Any) -> None:
        held = self._throttles.setdefault(key, _Throttle()).admit()
        if held is not None:
            logger.warning(message + " (%d more since the last warning)", *args, held)

    # -- one request -------------------------------------------------------------------------------

    def _take_slot(self, deadline: float) -> None:
        """Wait for a rate-limit slot if one frees up in time; raise :class:`_NoSlot` if not.

        The store is asked only while the budget still covers its timeout; when
        it fails, the limit is skipped for a while (fail open: the API's own 429s
        still protect it, and leads must not wait on a broken store).
        """
        if self._limiter is None or self._limit is None or time.monotonic() < self._store_down_until:
            return
        while True:
            if deadline - time.monotonic() < self._store_timeout_s + self._min_attempt_s:
                raise _NoSlot
            try:
                if self._limiter.hit(self._limit, self.name):
                    return
                stats = self._limiter.get_window_stats(self._limit, self.name)
            except Exception as error:  # noqa: BLE001 - whatever the store raises, fail open
                self._store_down_until = time.monotonic() + _STORE_BACKOFF_S
                self._warn(
                    "limit_store",
                    "firmographics provider %s: rate-limit store unavailable (%s); "
                    "asking without a limit for %.0f s",
                    self.name,
                    type(error).__name__,
                    _STORE_BACKOFF_S,
                )
                return
            # remaining > 0: a slot freed between the two calls; try again at once.
            wait = 0.001 if stats.remaining > 0 else max(stats.reset_time - time.time(), 0.001)
            if time.monotonic() + wait + self._store_timeout_s + self._min_attempt_s > deadline:
                raise _NoSlot
            time.sleep(wait)

    def _request(self, domain: str, url: str, remaining: float, deadline: float) -> Lookup:
        config = self._config
        with self._client.stream(
            "GET", url, headers=self._headers, timeout=httpx.Timeout(remaining)
        ) as response:
            status = response.status_code
            if status in config.not_found_statuses:
                self._drain(response, deadline)
                return Lookup("not_found")
            if status == 429:
                retry_after = _retry_after(response.headers.get("retry-after"))
                raise _AttemptFailed("http_429", "http 429", retryable=True, retry_after=retry_after)
            if status >= 500:
                raise _AttemptFailed("http_5xx", f"http {status}", retryable=True)
            if status == 408:
                raise _AttemptFailed("http_4xx", "http 408", retryable=True)
            if status >= 400:
                raise _AttemptFailed("http_4xx", f"http {status}", retryable=False)
            if not 200 <= status < 300:
                raise _AttemptFailed("bad_response", f"unexpected http {status}", retryable=False)
            body = self._read(response, deadline, config.max_body_bytes)
        return self._answer(domain, body)

    def _read(self, response: httpx.Response, deadline: float, limit: int) -> bytes:
        """The body, streamed: refused past ``limit`` bytes and abandoned at the deadline."""
        declared = response.headers.get("content-length", "")
        if declared.isdecimal() and int(declared) > limit:
            raise _AttemptFailed("bad_response", f"body larger than {limit} bytes", retryable=True)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise _AttemptFailed("bad_response", f"body larger than {limit} bytes", retryable=True)
            if time.monotonic() > deadline:
                raise _AttemptFailed("timeout", "timed out reading the body", retryable=True)
        return bytes(body)

    def _drain(self, response: httpx.Response, deadline: float) -> None:
        """Read a short error body so the connection can be reused; never fails the look-up."""
        with contextlib.suppress(_AttemptFailed, httpx.HTTPError):
            self._read(response, deadline, _DRAIN_BYTES)

    def _answer(self, domain: str, body: bytes) -> Lookup:
        if not body.strip():
            return Lookup("not_found", detail="empty response")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise _AttemptFailed("bad_response", "response is not JSON", retryable=True) from None
        values = {key: _COERCE[key](_resolve(document, path)) for key, path in self._paths.items()}
        if all(value is None for value in values.values()):
            return Lookup("not_found", detail="no mapped field in the response")
        record = FirmographicsRecord(
            domain=domain,
            company_name=values.get("company_name"),
            employees=values.get("employees"),
            annual_revenue=values.get("annual_revenue"),
            industry=values.get("industry"),
            hq_country_code=values.get("hq_country_code"),
        )
        return Lookup("found", record=record)
