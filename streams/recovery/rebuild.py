"""Getting Redis state back after Redis restarted empty, and holding leads until it is back.

The owner directory, the CRM mirror and the assignment ledger's remembered
decisions live only in Redis, but each is a projection of Kafka topics. A stage
that owns a keyspace (owner-sync, crm-sync, assign) checks its marker
(:mod:`streams.adapters.redis_state_marker`) before it starts consuming and
every ``LEADROUTE_STATE_CHECK_SECONDS`` after: a missing marker means a new or
wiped Redis, so the stage replays the topics into Redis before it goes on (a
running stage stops with exit 5 and rebuilds as it starts again; its
supervisor or orchestrator restarts it). A stage that only reads a keyspace
(assign reads owners, match reads the CRM) holds its batch while the keyspace
is not ready, rather than routing leads to fallback queues or missing every
account match, and reports itself unready with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from processors.errors import DependencyUnavailable
from streams import metrics
from streams.adapters.redis_state_marker import StateMarker, StateStatus
from streams.health import READINESS
from streams.recovery.replay import replay
from streams.settings import Settings
from streams.stages.base import Message

log = logging.getLogger(__name__)

#: What each keyspace holds, for log lines and /healthz.
WHAT = {
    "owners": "the owner directory",
    "crm": "the CRM mirror",
    "assign": "the assignment ledger's remembered decisions",
}

#: A rebuild's claim lives this long unless extended; a crashed rebuilder's claim runs out.
CLAIM_TTL_S = 30


def _blocker(keyspace: str) -> str:
    return f"state:{keyspace}"


def _set_missing(keyspace: str, missing: bool) -> None:
    metrics.STATE_MISSING.labels(keyspace).set(1 if missing else 0)


@dataclass(slots=True)
class StateRebuild:
    """One keyspace a stage owns: how to check it and how to write it again from its topics."""

    stage: str
    marker: StateMarker
    settings: Settings
    topic_names: Sequence[str]
    apply: Callable[[list[Message]], None]
    #: Where the replay starts (ms since the epoch); None for the beginning of each topic.
    since_ms: Callable[[], int | None] = lambda: None
    #: Called once before a rebuild reads anything back, and once after it read everything.
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None

    @property
    def keyspace(self) -> str:
        return self.marker.keyspace

    def ensure(self, *, poll_s: float = 0.5) -> None:
        """Returns once the keyspace is ready: rebuilt here, or by the instance that claimed it."""
        waited_since = time.monotonic()
        while True:
            status = self.marker.status()
            _set_missing(self.keyspace, status is not StateStatus.READY)
            if status is StateStatus.READY:
                READINESS.unblock(_blocker(self.keyspace))
                return
            READINESS.block(
                _blocker(self.keyspace),
                f"{WHAT[self.keyspace]} is not in Redis yet; it is being rebuilt from "
                f"{', '.join(self.topic_names)}",
            )
            if status is StateStatus.MISSING:
                token = self.marker.claim(CLAIM_TTL_S)
                if token is not None:
                    self._rebuild(token)
                    continue
            if time.monotonic() - waited_since > 60:
                log.warning(
                    "stage %s: still waiting for another instance to rebuild %s",
                    self.stage,
                    WHAT[self.keyspace],
                )
                waited_since = time.monotonic()
            time.sleep(poll_s)

    def _rebuild(self, token: str) -> None:
        log.warning(
            "stage %s: Redis does not hold %s (a new Redis, or one that restarted empty); rebuilding it "
            "from %s",
            self.stage,
            WHAT[self.keyspace],
            ", ".join(self.topic_names),
        )
        started = time.monotonic()
        records = metrics.STATE_REBUILD_RECORDS.labels(self.stage, self.keyspace)

        def keep_claim() -> None:
            if not self.marker.extend(token, CLAIM_TTL_S):
                raise DependencyUnavailable(
                    f"Redis lost the claim on rebuilding {WHAT[self.keyspace]} (emptied again?)"
                )

        count = 0
        try:
            if self.before is not None:
                self.before()
            for batch in replay(
                self.settings, self.topic_names, since_ms=self.since_ms(), keep_alive=keep_claim
            ):
                self.apply(batch)
                count += len(batch)
                records.inc(len(batch))
            if self.after is not None:
                self.after()
            finished = self.marker.finish(token)
        except Exception:
            metrics.STATE_REBUILDS.labels(self.stage, self.keyspace, "failed").inc()
            raise
        if not finished:
            metrics.STATE_REBUILDS.labels(self.stage, self.keyspace, "failed").inc()
            log.warning(
                "stage %s: Redis was emptied again while %s was rebuilt; starting over",
                self.stage,
                WHAT[self.keyspace],
            )
            return
        metrics.STATE_REBUILDS.labels(self.stage, self.keyspace, "done").inc()
        log.warning(
            "stage %s: rebuilt %s from %d records in %.1f s",
            self.stage,
            WHAT[self.keyspace],
            count,
            time.monotonic() - started,
        )


@dataclass(slots=True)
class StateWatch:
    """Checks a running stage's own keyspaces; when one is gone, asks the stage to stop and rebuild."""

    stage: str
    rebuilds: Sequence[StateRebuild]
    every_s: float
    on_lost: Callable[[str], None]
    lost: str | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=f"{self.stage}-state-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            for rebuild in self.rebuilds:
                try:
                    status = rebuild.marker.status()
                except DependencyUnavailable:
                    continue  # Redis down: the stage's own writes notice and stop it
                if status is StateStatus.MISSING:
                    _set_missing(rebuild.keyspace, True)
                    self.lost = (
                        f"Redis lost {WHAT[rebuild.keyspace]} (it restarted empty); stopping to rebuild it "
                        "from the topics at restart"
                    )
                    self.on_lost(self.lost)
                    return


@dataclass(slots=True)
class StateGate:
    """Holds a batch while a keyspace the stage reads is missing or being rebuilt.

    One GET per keyspace per batch. Waits at most ``limit_s`` (never long enough for an
    exactly-once transaction to time out), then raises DependencyUnavailable, so the
    stage exits 5 and its batch is redone after the restart.
    """

    stage: str
    markers: Sequence[StateMarker]
    limit_s: float
    poll_s: float = 0.25
    #: The stage's own keyspaces: found missing, the stage stops at once to rebuild them.
    owned: Sequence[StateMarker] = ()

    def wait_ready(self, limit_s: float | None = None) -> None:
        limit = self.limit_s if limit_s is None else limit_s
        deadline = time.monotonic() + limit
        for marker in (*self.owned, *self.markers):
            while True:
                status = marker.status()
                if status is StateStatus.MISSING and marker in self.owned:
                    _set_missing(marker.keyspace, True)
                    raise DependencyUnavailable(
                        f"Redis lost {WHAT[marker.keyspace]} (it restarted empty); stopping to rebuild it "
                        "from the topics at restart"
                    )
                ready = status is StateStatus.READY
                _set_missing(marker.keyspace, not ready)
                if ready:
                    READINESS.unblock(_blocker(marker.keyspace))
                    break
                READINESS.block(
                    _blocker(marker.keyspace),
                    f"{WHAT[marker.keyspace]} is not in Redis (being rebuilt); holding leads until it is "
                    "back",
                )
                if time.monotonic() >= deadline:
                    raise DependencyUnavailable(
                        f"{WHAT[marker.keyspace]} was not back in Redis within {limit:.0f} s; leads are "
                        "held, not routed without it"
                    )
                time.sleep(self.poll_s)


@dataclass(slots=True)
class StatePlan:
    """What a stage keeps in Redis (rebuilt by it) and what it only reads (waited for)."""

    rebuilds: list[StateRebuild] = field(default_factory=list)
    gate: StateGate | None = None
