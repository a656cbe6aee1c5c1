"""What a stage reports about itself: /healthz (readiness), /livez (liveness) and /metrics.

Readiness is more than "the loop runs": a stage is not ready while it cannot
reach a broker, while its input sits behind a transaction that nobody commits
(an upstream process died mid-transaction), or while a stage-specific blocker
holds it (the owner directory being rebuilt after Redis lost its data). Each
reason is named in the /healthz body so an SRE knows which one.

/livez only asks whether the loop runs, so a Kafka outage does not make an
orchestrator restart every stage at once.

Consumer lag is computed here from librdkafka's statistics as the partition's
last stable offset minus the application's position. librdkafka's own
``consumer_lag`` subtracts the *committed* offset, which the consumer does not
know under exactly-once (offsets are committed by the producer's transaction).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics

#: librdkafka marks offsets it does not know with values below zero (e.g. -1001).
_UNKNOWN = 0
#: Seconds a broker connection may leave requests unanswered before it counts as down,
#: unless the stage holds fetches longer (see :func:`unanswered_limit`).
UNANSWERED_AFTER_S = 5.0


def unanswered_limit(fetch_wait_max_ms: int | None) -> float:
    """How long a broker may be silent with requests waiting: a fetch is held up to fetch.wait.max.ms."""
    return max(UNANSWERED_AFTER_S, 2 * (500 if fetch_wait_max_ms is None else fetch_wait_max_ms) / 1000)


def _answering(broker: dict[str, Any], unanswered_after_s: float) -> bool:
    """Connected, and not sitting on requests the broker has not answered for too long.

    A network partition leaves the connection UP for as long as librdkafka's
    socket timeout (60 s): only the unanswered requests and the silence since
    the last byte received show it.
    """
    if broker.get("state") != "UP":
        return False
    silent_us = int(broker.get("rxidle", -1))
    return not (int(broker.get("waitresp_cnt", 0)) > 0 and silent_us > unanswered_after_s * 1_000_000)


@dataclass(slots=True)
class PartitionWatch:
    """The last stable offset of one input partition and since when it has not moved."""

    stable_offset: int
    since: float


class Readiness:
    """Named reasons a stage is not ready, set and cleared by the stage's own code."""

    def __init__(self) -> None:
        self._blockers: dict[str, str] = {}
        self._lock = threading.Lock()

    def block(self, name: str, sentence: str) -> None:
        with self._lock:
            self._blockers[name] = sentence

    def unblock(self, name: str) -> None:
        with self._lock:
            self._blockers.pop(name, None)

    def blockers(self) -> dict[str, str]:
        with self._lock:
            return dict(self._blockers)


#: One stage runs per process, so one set of blockers per process.
READINESS = Readiness()


class Health:
    """The stage's view of its broker and input, fed by librdkafka's statistics callback."""

    def __init__(
        self,
        stage: str,
        *,
        stats_interval_s: float,
        stall_after_s: float = 30.0,
        unanswered_after_s: float = UNANSWERED_AFTER_S,
        readiness: Readiness = READINESS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage = stage
        self.stats_interval_s = stats_interval_s
        self.stall_after_s = stall_after_s
        self.unanswered_after_s = unanswered_after_s
        self.readiness = readiness
        self.running = False
        self.last_stats_at: float | None = None
        self.brokers_up: int | None = None
        self.brokers_silent = 0  # connected, but requests unanswered past the limit
        self.group: tuple[str, str] | None = None  # (state, join state) while not a settled member
        self.group_since: float | None = None  # when it last stopped being a settled member
        self._monotonic = monotonic
        self._watch: dict[tuple[str, str], PartitionWatch] = {}
        self._stalled: dict[tuple[str, str], int] = {}  # partition → records held behind the open transaction
        self._lock = threading.Lock()

    def on_stats(self, stats_json: str) -> None:
        """librdkafka statistics callback: broker state, lag and stalls per assigned partition."""
        stats = json.loads(stats_json)
        now = self._monotonic()
        # Brokers by node id only: bootstrap and coordinator entries are extra connections to them.
        nodes = [b for b in stats.get("brokers", {}).values() if b.get("nodeid", -1) >= 0]
        brokers_up = sum(1 for broker in nodes if _answering(broker, self.unanswered_after_s))
        brokers_silent = sum(1 for broker in nodes if broker.get("state") == "UP") - brokers_up
        cgrp = stats.get("cgrp")
        group = None
        if cgrp and (cgrp.get("state"), cgrp.get("join_state")) != ("up", "steady"):
            group = (str(cgrp.get("state")), str(cgrp.get("join_state")))
        seen: set[tuple[str, str]] = set()
        stalled: dict[tuple[str, str], int] = {}
        for topic, topic_stats in stats.get("topics", {}).items():
            for partition, p in topic_stats.get("partitions", {}).items():
                if partition == "-1" or p.get("fetch_state") != "active":
                    continue
                key = (topic, partition)
                seen.add(key)
                held = self._observe(key, p, now)
                if held:
                    stalled[key] = held
        with self._lock:
            self.last_stats_at = now
            self.brokers_up = brokers_up
            self.brokers_silent = brokers_silent
            if group is None:
                self.group_since = None
            elif self.group_since is None:
                self.group_since = now
            self.group = group
            for key in set(self._watch) - seen:  # revoked partitions stop counting
                del self._watch[key]
                metrics.INPUT_STALLED.labels(self.stage, *key).set(0)
            for key in seen:
                metrics.INPUT_STALLED.labels(self.stage, *key).set(1 if key in stalled else 0)
            self._stalled = stalled

    def _observe(self, key: tuple[str, str], p: dict[str, Any], now: float) -> int:
        """Update lag for one partition; returns how many records sit behind a stalled transaction."""
        high = int(p.get("hi_offset", -1))
        stable = int(p.get("ls_offset", -1))
        position = int(p.get("app_offset", -1))
        if position < _UNKNOWN:
            position = int(p.get("committed_offset", -1))
        if stable < _UNKNOWN:
            stable = high
        if stable >= _UNKNOWN and position >= _UNKNOWN:
            metrics.CONSUMER_LAG.labels(self.stage, *key).set(max(stable - position, 0))
        elif stable >= _UNKNOWN:  # nothing consumed or committed yet: everything stable is behind
            low = int(p.get("lo_offset", 0))
            metrics.CONSUMER_LAG.labels(self.stage, *key).set(max(stable - max(low, 0), 0))
        watch = self._watch.get(key)
        if watch is None or watch.stable_offset != stable:
            self._watch[key] = watch = PartitionWatch(stable, now)
        unstable = high - stable if high >= _UNKNOWN and stable >= _UNKNOWN else 0
        caught_up = position >= stable if position >= _UNKNOWN else True
        if unstable > 0 and caught_up and now - watch.since >= self.stall_after_s:
            return unstable
        return 0

    def out_of_group_for(self) -> float:
        """Seconds since the stage stopped being a settled member of its group (0 while it is one)."""
        with self._lock:
            since = self.group_since
        return 0.0 if since is None else self._monotonic() - since

    def report(self) -> tuple[bool, dict[str, Any]]:
        blockers = self.readiness.blockers()
        with self._lock:
            now = self._monotonic()
            stats_age = None if self.last_stats_at is None else now - self.last_stats_at
            fresh = stats_age is not None and stats_age < 3 * self.stats_interval_s + 2
            broker_ok = fresh and (self.brokers_up or 0) > 0
            silent = self.brokers_silent
            group = self.group
            stalled = {f"{topic}[{partition}]": held for (topic, partition), held in self._stalled.items()}
        reasons = dict(blockers)
        if not self.running:
            reasons["not_running"] = "The stage loop is not running."
        elif not broker_ok:
            if not fresh:
                reasons["broker"] = (
                    "The Kafka client has not reported lately (broker unreachable or the loop stuck)."
                )
            elif silent:
                reasons["broker"] = (
                    f"Connected to Kafka, but it has left requests unanswered for over "
                    f"{self.unanswered_after_s:.0f}s (a network partition or a stuck broker)."
                )
            else:
                reasons["broker"] = "No Kafka broker is reachable."
        elif group is not None:
            # No partitions while not a member, so no lag and no stall would show it.
            reasons["group"] = (
                f"Not a settled member of its consumer group (group state {group[0]}, join state "
                f"{group[1]}): it reads nothing until it is. Minutes of this after an outage mean the "
                "client is stuck; restart the stage."
            )
        if stalled:
            reasons["input_stalled"] = (
                "The input has records behind a transaction nobody commits (an upstream process died "
                f"mid-transaction) for over {self.stall_after_s:.0f}s: {stalled}. Restart that upstream "
                "stage with the same LEADROUTE_INSTANCE_ID, or wait for the broker's transaction timeout."
            )
        ready = not reasons
        return ready, {
            "stage": self.stage,
            "status": "ok" if ready else "unready",
            "running": self.running,
            "brokers_up": self.brokers_up,
            "brokers_silent": silent,
            "seconds_since_client_stats": None if stats_age is None else round(stats_age, 1),
            "stalled_partitions": stalled,
            "reasons": reasons,
        }


class ProbeServer(ThreadingHTTPServer):
    """The metrics and health server; a client that hangs up before its answer is not an error.

    Orchestrator probes and scrapers give up after a timeout (Kubernetes: 1 s) and
    close the connection; writing the late answer then fails with a broken pipe,
    which the standard server would print to the stage's log as a traceback.
    """

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class GroupWatch:
    """Stops a stage that stayed out of its consumer group too long, so it can start afresh.

    After a broker outage a client was seen never to take its partitions back: it
    read nothing, yet lived on. A restart joins the group anew; run all and
    Kubernetes do that when the stage exits 4.
    """

    def __init__(
        self, health: Health, limit_s: float, on_lost: Callable[[str], None], every_s: float = 1.0
    ) -> None:
        self.health = health
        self.limit_s = limit_s
        self.every_s = every_s
        self.on_lost = on_lost
        self.lost: str | None = None
        self._stop = threading.Event()

    def start(self) -> GroupWatch:
        threading.Thread(target=self.run, name=f"{self.health.stage}-group-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.wait(self.every_s):
            if self.check():
                return

    def check(self) -> bool:
        out_for = self.health.out_of_group_for()
        if out_for <= self.limit_s:
            return False
        group = self.health.group or ("?", "?")
        self.lost = (
            f"out of its consumer group for {out_for:.0f} s (group state {group[0]}, join state "
            f"{group[1]}); restarting to join it afresh, nothing was lost"
        )
        self.on_lost(self.lost)
        return True


def serve(host: str, port: int, health: Health) -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /livez on a daemon thread; returns the server to shut down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                body, status, content_type = (
                    generate_latest(metrics.REGISTRY),
                    200,
                    CONTENT_TYPE_LATEST,
                )
            elif self.path.startswith("/livez"):
                body = json.dumps({"stage": health.stage, "running": health.running}).encode()
                status, content_type = (200 if health.running else 503), "application/json"
            elif self.path.startswith("/healthz"):
                ready, report = health.report()
                body = json.dumps(report).encode()
                status, content_type = (200 if ready else 503), "application/json"
            else:
                body, status, content_type = b"see /metrics, /healthz and /livez\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ProbeServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
