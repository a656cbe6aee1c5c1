"""The HTTP firmographics provider against a real local HTTP server that misbehaves on cue.

Every test scripts what the server does for a domain (answer, fail, stall,
trickle) and checks the provider's promise: an outcome, never an exception,
and never later than the configured time budget.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from streams import metrics
from streams.adapters.http_firmographics import HttpFirmographicsProvider, HttpProviderConfig

#: Allowed beyond a time budget: a bound on a noisy machine, not a benchmark.
SLACK_S = 0.25

FIELD_MAP = {
    "company_name": "company.name",
    "employees": "metrics.employees",
    "annual_revenue": "metrics.annualRevenue",
    "industry": "category.industry",
    "hq_country_code": "geo.countryCode",
}

ACME = {
    "company": {"name": "Acme Inc"},
    "metrics": {"employees": 1200, "annualRevenue": 25_000_000},
    "category": {"industry": "Software"},
    "geo": {"countryCode": "us"},
}

Step = Callable[[BaseHTTPRequestHandler, threading.Event], None]


# --- the scripted server --------------------------------------------------------------------------


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def answer(document: Any, status: int = 200) -> Step:
    body = json.dumps(document).encode()
    return lambda handler, stop: _send(handler, status, body)


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Step:
    return lambda handler, stop: _send(handler, code, body, headers=headers)


def garbage() -> Step:
    body = b"<html><body>Service temporarily degraded</body></html>"
    return lambda handler, stop: _send(handler, 200, body, content_type="text/html")


def slow(seconds: float, then: Step) -> Step:
    def step(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        if not stop.wait(seconds):
            then(handler, stop)

    return step


def hang() -> Step:
    """Accept the request and say nothing until the test ends."""

    def step(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        stop.wait()
        handler.close_connection = True

    return step


def trickle(document: Any, *, headers_too: bool, interval_s: float = 0.2) -> Step:
    """One byte every ``interval_s``: of the whole response, or of the body after prompt headers."""
    body = json.dumps(document).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )

    def step(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.close_connection = True
        slow_part = head + body if headers_too else body
        if not headers_too:
            handler.wfile.write(head)
        for index in range(len(slow_part)):
            handler.wfile.write(slow_part[index : index + 1])
            if stop.wait(interval_s):
                return

    return step


def huge(size: int, *, declared: bool) -> Step:
    """A body of ``size`` bytes, with a Content-Length or delimited by closing the connection."""

    def step(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        chunk = b" " * 65_536
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)

    return step


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 2  # an idle keep-alive connection cannot hold teardown for long
    server: _Server

    def do_GET(self) -> None:
        step = self.server.scripted.take(self)
        try:
            step(self, self.server.scripted.stop)
        except OSError:  # the client gave up (that is what most tests expect)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    scripted: ScriptedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class ScriptedServer:
    """A local HTTP server whose behaviour for each domain the test decides.

    ``script(domain, *steps)`` plays the steps in order for successive requests
    for that domain, repeating the last one. ``hits`` counts requests per domain
    as they arrive; ``requests`` keeps each one's raw path and headers.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._scripts: dict[str, list[Step]] = {}
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.scripted = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-http"
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/companies/find?domain={{domain}}"

    def script(self, domain: str, *steps: Step) -> None:
        with self._lock:
            self._scripts[domain] = list(steps)

    def take(self, handler: BaseHTTPRequestHandler) -> Step:
        domain = parse_qs(urlsplit(handler.path).query).get("domain", [""])[0]
        with self._lock:
            self.hits[domain] += 1
            self.requests.append((handler.path, dict(handler.headers.items())))
            steps = self._scripts.get(domain) or [status(404)]
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def close(self) -> None:
        self.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def make_provider(server: ScriptedServer) -> Iterator[Callable[..., HttpFirmographicsProvider]]:
    """Providers against ``server``, each with its own name (so its own metrics), closed at the end."""
    made: list[HttpFirmographicsProvider] = []

    def make(**overrides: Any) -> HttpFirmographicsProvider:
        values: dict[str, Any] = {
            "name": f"test-{uuid.uuid4().hex[:8]}",
            "url_template": server.url_template,
            "field_map": FIELD_MAP,
            "timeout_s": 1.0,
            "backoff_s": 0.01,
        }
        values.update(overrides)
        provider = HttpFirmographicsProvider(HttpProviderConfig(**values))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# --- answers --------------------------------------------------------------------------------------


def test_a_found_company_is_mapped_coerced_and_counted(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider()
    server.script("acme.com", answer(ACME))

    lookup = provider.lookup("acme.com")

    assert lookup.outcome == "found" and not lookup.cached
    assert lookup.record == {
        "domain": "acme.com",
        "company_name": "Acme Inc",
        "employees": 1200,
        "annual_revenue": 25_000_000.0,
        "industry": "Software",
        "hq_country_code": "US",
    }
    assert sample("leadroute_firmographics_lookups_total", provider=provider.name, outcome="found") == 1
    assert sample("leadroute_firmographics_request_seconds_count", provider=provider.name) == 1


def test_nested_and_list_paths(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(
        field_map={
            "company_name": "data.0.name",
            "employees": "data.0.size.count",
            "industry": "data.1.name",
            "hq_country_code": "data.7.country",
        }
    )
    server.script(
        "list.io", answer({"data": [{"name": "First Co", "size": {"count": "51"}}, {"name": "Second"}]})
    )

    record = provider.lookup("list.io").record

    assert record is not None
    assert (record["company_name"], record["employees"], record["industry"]) == ("First Co", 51, "Second")
    assert record["hq_country_code"] is None and record["annual_revenue"] is None


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("employees", 1200, 1200),
        ("employees", 1200.0, 1200),
        ("employees", "1200", 1200),
        ("employees", "1,200", 1200),
        ("employees", "1200.0", 1200),
        ("employees", "1.2k", 1200),
        ("employees", "lots", None),
        ("employees", True, None),
        ("employees", 0, None),
        ("employees", -3, None),
        ("annual_revenue", 1_500_000, 1_500_000.0),
        ("annual_revenue", 1.5e6, 1_500_000.0),
        ("annual_revenue", "1,500,000", 1_500_000.0),
        ("annual_revenue", "$1.5M", 1_500_000.0),
        ("annual_revenue", "2bn", 2e9),
        ("annual_revenue", "n/a", None),
        ("annual_revenue", "1.200,50", None),
        ("annual_revenue", -1, None),
        ("annual_revenue", float("nan"), None),
        ("annual_revenue", False, None),
        ("hq_country_code", "us", "US"),
        ("hq_country_code", " gb ", "GB"),
        ("hq_country_code", "USA", "US"),
        ("hq_country_code", "Germany", "DE"),
        ("hq_country_code", "Atlantis", None),
        ("hq_country_code", 840, None),
        ("company_name", "  Acme \n  Corp ", "Acme Corp"),
        ("company_name", "   ", None),
        ("company_name", 42, None),
        ("company_name", ["Acme"], None),
        ("industry", {"name": "Software"}, None),
    ],
)
def test_values_are_coerced(
    server: ScriptedServer, make_provider: Any, field: str, raw: Any, expected: Any
) -> None:
    anchor = "industry" if field == "company_name" else "company_name"
    provider = make_provider(field_map={field: "value", anchor: "anchor"})
    server.script("coerce.io", answer({"value": raw, "anchor": "Anchor"}))

    lookup = provider.lookup("coerce.io")

    assert lookup.outcome == "found" and lookup.record is not None
    assert lookup.record[field] == expected  # type: ignore[literal-required]
    if isinstance(expected, float):
        assert isinstance(lookup.record[field], float)  # type: ignore[literal-required]


@pytest.mark.parametrize(
    "step",
    [
        status(404, body=b'{"error": "unknown company"}'),
        answer({"company": {}, "metrics": {"employees": None}}),
        answer(None),
        status(200),
        status(204),
    ],
    ids=["404", "no-mapped-field", "json-null", "empty-body", "204"],
)
def test_no_company_is_not_found(server: ScriptedServer, make_provider: Any, step: Step) -> None:
    provider = make_provider()
    server.script("nobody.io", step)

    lookup = provider.lookup("nobody.io")

    assert (lookup.outcome, lookup.record) == ("not_found", None)
    assert server.hits["nobody.io"] == 1
    assert provider.circuit_state == "closed"


def test_listed_statuses_also_mean_not_found(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(not_found_statuses=frozenset({404, 422}))
    server.script("odd.io", status(422))
    assert provider.lookup("odd.io").outcome == "not_found"


# --- retries --------------------------------------------------------------------------------------


def test_a_5xx_is_retried_then_succeeds(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider()
    server.script("flaky.io", status(500), status(503), answer(ACME))

    lookup = provider.lookup("flaky.io")

    assert lookup.outcome == "found"
    assert server.hits["flaky.io"] == 3
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="http_5xx") == 2


def test_retry_after_is_honoured_when_it_fits(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(timeout_s=2.5)
    server.script("busy.io", status(429, headers={"Retry-After": "1"}), answer(ACME))

    lookup, elapsed = timed(lambda: provider.lookup("busy.io"))

    assert lookup.outcome == "found"
    assert server.hits["busy.io"] == 2
    assert 0.95 <= elapsed < 2.5
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="http_429") == 1


def test_retry_after_beyond_the_budget_gives_up_at_once(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(timeout_s=1.0)
    server.script("busy.io", status(429, headers={"Retry-After": "30"}), answer(ACME))

    lookup, elapsed = timed(lambda: provider.lookup("busy.io"))

    assert lookup.outcome == "unavailable" and lookup.detail is not None and "429" in lookup.detail
    assert server.hits["busy.io"] == 1
    assert elapsed < SLACK_S


def test_a_provider_that_always_fails_is_asked_retries_plus_one_times(
    server: ScriptedServer, make_provider: Any
) -> None:
    provider = make_provider(retries=2)
    server.script("down.io", status(500))

    lookup = provider.lookup("down.io")

    assert lookup.outcome == "unavailable"
    assert lookup.detail == "http 500 (3 attempts)"
    assert server.hits["down.io"] == 3
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="http_5xx") == 3
    assert sample("leadroute_firmographics_lookups_total", provider=provider.name, outcome="unavailable") == 1


def test_backoff_never_outlasts_the_budget(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(retries=10, backoff_s=0.2, timeout_s=0.5)
    server.script("down.io", status(500))

    lookup, elapsed = timed(lambda: provider.lookup("down.io"))

    assert lookup.outcome == "unavailable"
    assert 2 <= server.hits["down.io"] < 11
    assert elapsed < 0.5 + SLACK_S


def test_a_client_error_is_not_retried_and_warns_without_the_domain(
    server: ScriptedServer, make_provider: Any, caplog: pytest.LogCaptureFixture
) -> None:
    provider = make_provider(breaker_failures=2)
    server.script("secret-prospect.io", status(401))
    caplog.set_level(logging.DEBUG, logger="streams.adapters.http_firmographics")

    first = provider.lookup("secret-prospect.io")
    provider.lookup("secret-prospect.io")
    third = provider.lookup("secret-prospect.io")

    assert (first.outcome, first.detail) == ("unavailable", "http 401 (1 attempt)")
    assert third.outcome == "circuit_open"  # a wrong key must not be hammered
    assert server.hits["secret-prospect.io"] == 2
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="http_4xx") == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "401" in r.getMessage()]
    assert len(warnings) == 1  # throttled
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert loud and not any("secret-prospect" in message for message in loud)
    assert any("secret-prospect" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


# --- the time budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        slow(2.0, answer(ACME)),
        hang(),
        trickle(ACME, headers_too=True),
        trickle(ACME, headers_too=False),
    ],
    ids=["slow", "hanging", "trickling-headers", "trickling-body"],
)
def test_a_slow_server_cannot_stretch_the_budget(
    server: ScriptedServer, make_provider: Any, step: Step
) -> None:
    provider = make_provider(timeout_s=0.3)
    server.script("slow.io", step)

    lookup, elapsed = timed(lambda: provider.lookup("slow.io"))

    assert (lookup.outcome, lookup.detail) == ("unavailable", "timed out (1 attempt)")
    assert elapsed < 0.3 + SLACK_S
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="timeout") == 1


def test_a_slow_answer_inside_the_budget_is_taken(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(timeout_s=1.0)
    server.script("slowish.io", slow(0.2, answer(ACME)))
    assert provider.lookup("slowish.io").outcome == "found"


def test_concurrent_lookups_each_keep_their_own_budget(server: ScriptedServer, make_provider: Any) -> None:
    """Four lookups against a hanging provider run side by side, each ending at its own timeout.

    Checked by order, not by stopwatch: every lookup was still waiting when the last one
    began (none queued behind another), and none gave up before its budget was spent.
    """
    timeout_s = 1.0
    provider = make_provider(timeout_s=timeout_s, breaker_failures=100, retries=0)
    server.script("slow.io", hang())

    def one(_: int) -> tuple[float, float, str]:
        started = time.monotonic()
        outcome = provider.lookup("slow.io").outcome
        return started, time.monotonic(), outcome

    with ThreadPoolExecutor(max_workers=4) as pool:
        spans = list(pool.map(one, range(4)))

    assert [outcome for _, _, outcome in spans] == ["unavailable"] * 4
    assert max(start for start, _, _ in spans) < min(end for _, end, _ in spans), "lookups were queued"
    assert all(end - start >= timeout_s * 0.9 for start, end, _ in spans), "a lookup gave up early"
    assert server.hits["slow.io"] == 4


def test_a_provider_hanging_for_a_whole_run_still_lets_every_lead_through(
    server: ScriptedServer, make_provider: Any
) -> None:
    provider = make_provider(timeout_s=0.2, breaker_failures=3)
    server.script("hang.io", hang())

    outcomes, elapsed = timed(lambda: Counter(provider.lookup("hang.io").outcome for _ in range(30)))

    assert outcomes == {"unavailable": 3, "circuit_open": 27}
    assert elapsed < 3 * 0.2 + 0.5
    assert server.hits["hang.io"] == 3
    assert sample("leadroute_firmographics_circuit_open", provider=provider.name) == 1


# --- bad responses --------------------------------------------------------------------------------


def test_a_non_json_body_is_retried_then_unavailable(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(retries=2)
    server.script("garbage.io", garbage())

    lookup = provider.lookup("garbage.io")

    assert (lookup.outcome, lookup.detail) == ("unavailable", "response is not JSON (3 attempts)")
    assert server.hits["garbage.io"] == 3
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="bad_response") == 3


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "read-until-close"])
def test_a_huge_body_is_refused(server: ScriptedServer, make_provider: Any, declared: bool) -> None:
    provider = make_provider(retries=0, max_body_bytes=1_000_000)
    server.script("huge.io", huge(4 * 1_048_576, declared=declared))

    lookup, elapsed = timed(lambda: provider.lookup("huge.io"))

    assert (lookup.outcome, lookup.detail) == ("unavailable", "body larger than 1000000 bytes (1 attempt)")
    assert elapsed < 1.0


def test_connection_refused_is_unavailable(closed_port: int, make_provider: Any) -> None:
    provider = make_provider(url_template=f"http://127.0.0.1:{closed_port}/c?d={{domain}}")

    lookup, elapsed = timed(lambda: provider.lookup("acme.com"))

    assert lookup.outcome == "unavailable" and lookup.detail is not None
    assert lookup.detail.startswith("network error (ConnectError)")
    assert elapsed < 1.0
    assert sample("leadroute_firmographics_errors_total", provider=provider.name, kind="connect") == 3


def test_a_bug_is_an_outcome_not_an_exception(
    server: ScriptedServer, make_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider()
    server.script("acme.com", answer(ACME))

    def explode(*_: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(provider, "_answer", explode)
    lookups = [provider.lookup("acme.com") for _ in range(3)]
    monkeypatch.undo()

    assert {(lookup.outcome, lookup.detail) for lookup in lookups} == {("unavailable", "internal error")}
    assert provider.lookup("acme.com").outcome == "found"  # the breaker was not left half-way


# --- circuit breaker ------------------------------------------------------------------------------


def test_the_breaker_opens_and_then_skips_the_network(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(retries=0, breaker_failures=3)
    server.script("down.io", status(500))
    gauge = {"provider": provider.name}

    first = [provider.lookup("down.io").outcome for _ in range(3)]
    assert sample("leadroute_firmographics_circuit_open", **gauge) == 1
    skipped, elapsed = timed(lambda: [provider.lookup("down.io") for _ in range(5)])

    assert first == ["unavailable"] * 3
    assert {(lookup.outcome, lookup.detail) for lookup in skipped} == {("circuit_open", "circuit open")}
    assert elapsed < 0.05
    assert server.hits["down.io"] == 3
    assert provider.circuit_state == "open"
    labels = {"provider": provider.name, "outcome": "circuit_open"}
    assert sample("leadroute_firmographics_lookups_total", **labels) == 5
    assert sample("leadroute_firmographics_request_seconds_count", provider=provider.name) == 3


def test_a_success_resets_the_failure_count(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(retries=0, breaker_failures=2)
    server.script("down.io", status(500))
    server.script("acme.com", answer(ACME))

    outcomes = [provider.lookup(domain).outcome for domain in ("down.io", "acme.com", "down.io", "acme.com")]

    assert outcomes == ["unavailable", "found", "unavailable", "found"]
    assert provider.circuit_state == "closed"


def test_after_the_reset_time_one_trial_closes_the_circuit(
    server: ScriptedServer, make_provider: Any
) -> None:
    provider = make_provider(retries=0, breaker_failures=2, breaker_reset_s=0.3)
    server.script("acme.com", status(500), status(500), answer(ACME))

    assert [provider.lookup("acme.com").outcome for _ in range(3)] == [
        "unavailable",
        "unavailable",
        "circuit_open",
    ]
    time.sleep(0.35)
    trial = provider.lookup("acme.com")

    assert trial.outcome == "found"
    assert provider.circuit_state == "closed"
    assert sample("leadroute_firmographics_circuit_open", provider=provider.name) == 0
    assert provider.lookup("acme.com").outcome == "found"
    assert server.hits["acme.com"] == 4


def test_a_failed_trial_opens_the_circuit_again(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(retries=0, breaker_failures=2, breaker_reset_s=0.3)
    server.script("down.io", status(500))
    for _ in range(2):
        provider.lookup("down.io")
    time.sleep(0.35)

    outcomes = [provider.lookup("down.io").outcome for _ in range(3)]

    assert outcomes == ["unavailable", "circuit_open", "circuit_open"]
    assert server.hits["down.io"] == 3
    assert sample("leadroute_firmographics_circuit_open", provider=provider.name) == 1


# --- rate limit -----------------------------------------------------------------------------------


def test_with_no_time_to_wait_for_a_slot_the_lookup_is_rate_limited(
    server: ScriptedServer, make_provider: Any
) -> None:
    provider = make_provider(rate_limit_per_s=5, timeout_s=0.1, breaker_failures=2)
    server.script("acme.com", answer(ACME))

    outcomes, elapsed = timed(lambda: [provider.lookup("acme.com").outcome for _ in range(10)])

    assert outcomes == ["found"] * 5 + ["rate_limited"] * 5
    assert server.hits["acme.com"] == 5
    assert elapsed < 0.5
    assert provider.circuit_state == "closed"  # being throttled is not the provider failing
    labels = {"provider": provider.name, "outcome": "rate_limited"}
    assert sample("leadroute_firmographics_lookups_total", **labels) == 5


def test_with_time_to_wait_lookups_are_spread_over_the_window(
    server: ScriptedServer, make_provider: Any
) -> None:
    provider = make_provider(rate_limit_per_s=5, timeout_s=3.0)
    server.script("acme.com", answer(ACME))

    outcomes, elapsed = timed(lambda: [provider.lookup("acme.com").outcome for _ in range(10)])

    assert outcomes == ["found"] * 10
    assert 0.95 <= elapsed < 3.0


def test_a_fractional_rate_is_honoured(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider(rate_limit_per_s=0.5, timeout_s=0.2)
    server.script("acme.com", answer(ACME))
    assert [provider.lookup("acme.com").outcome for _ in range(2)] == ["found", "rate_limited"]


# --- requests -------------------------------------------------------------------------------------


def test_headers_are_sent_but_never_shown(
    server: ScriptedServer, make_provider: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make_provider(headers={"Authorization": "Bearer s3cret-token"}, retries=0)
    server.script("acme.com", answer(ACME))
    server.script("down.io", status(403))

    provider.lookup("acme.com")
    provider.lookup("down.io")

    sent = [headers for _, headers in server.requests]
    assert all(headers.get("Authorization") == "Bearer s3cret-token" for headers in sent)
    assert all(headers.get("Accept") == "application/json" for headers in sent)
    assert "s3cret" not in caplog.text
    assert "s3cret" not in repr(provider._config)


def test_the_domain_is_url_quoted(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider()
    odd = "exa mple/é.com?x=1&y#z"
    server.script(odd, answer(ACME))

    lookup = provider.lookup(odd)

    assert lookup.outcome == "found" and lookup.record is not None and lookup.record["domain"] == odd
    path, _ = server.requests[-1]
    assert path == "/v2/companies/find?domain=exa%20mple%2F%C3%A9.com%3Fx%3D1%26y%23z"


def test_connections_are_reused(server: ScriptedServer, make_provider: Any) -> None:
    provider = make_provider()
    server.script("acme.com", answer(ACME))
    server.script("nobody.io", status(404, body=b'{"error": "no"}'))
    ports: set[int] = set()
    original = server.take

    def record_port(handler: BaseHTTPRequestHandler) -> Step:
        ports.add(handler.client_address[1])
        return original(handler)

    server.take = record_port  # type: ignore[method-assign]
    for domain in ("acme.com", "nobody.io", "acme.com", "nobody.io"):
        provider.lookup(domain)

    assert len(ports) == 1


# --- configuration --------------------------------------------------------------------------------


def test_the_field_map_is_parsed_from_text() -> None:
    parsed = HttpProviderConfig.parse_field_map(
        " company_name = company.name , employees=metrics.employees,,hq_country_code=data.0.geo.cc "
    )
    assert parsed == {
        "company_name": "company.name",
        "employees": "metrics.employees",
        "hq_country_code": "data.0.geo.cc",
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("company_name", "is not field=path"),
        ("company_name=", "is not field=path"),
        ("=company.name", "is not field=path"),
        ("ceo=people.ceo", "not a firmographics field"),
        ("domain=site.domain", "not a firmographics field"),
        ("company_name=company..name", "dotted path"),
        ("company_name=a,company_name=b", "twice"),
    ],
)
def test_a_bad_field_map_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        HttpProviderConfig.parse_field_map(text)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "has space"}, "provider name"),
        ({"url_template": "https://api.example.com/find"}, "{domain}"),
        ({"url_template": "ftp://x/{domain}"}, "http://"),
        ({"field_map": {"ceo": "x"}}, "not a firmographics field"),
        ({"timeout_s": 0}, "timeout_s must be positive"),
        ({"retries": -1}, "retries must be at least 0"),
        ({"breaker_failures": 0}, "breaker_failures must be at least 1"),
    ],
)
def test_a_bad_config_is_refused(overrides: dict[str, Any], fragment: str) -> None:
    values: dict[str, Any] = {
        "name": "api.example.com",
        "url_template": "https://api.example.com/find?domain={domain}",
        "field_map": FIELD_MAP,
    }
    values.update(overrides)
    with pytest.raises(ValueError, match=fragment.replace("{", r"\{").replace("}", r"\}")):
        HttpProviderConfig(**values)
