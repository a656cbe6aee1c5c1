"""Runs one stage in this process: metrics server, topic check, the Quix loop.

An expected outage ends in one sentence and its exit code (:mod:`streams.exits`), never a
traceback: the supervisor (or the orchestrator) restarts the stage, and the sentence says why.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable

from confluent_kafka import KafkaException
from quixstreams import Application

from processors.config import ConfigError
from streams import __version__, health, metrics, topics
from streams.app import STATS_INTERVAL_MS, build_stage
from streams.exits import (
    EXIT_BROKER_UNREACHABLE,
    EXIT_DEPENDENCY_DOWN,
    EXIT_OK,
    EXIT_SETTINGS,
    EXIT_TOPICS_MISSING,
    exit_for,
)
from streams.recovery.rebuild import StateWatch
from streams.settings import Settings
from streams.stages.registry import STAGES, stage_index, topics_needed

log = logging.getLogger(__name__)

#: Allocations between young-generation collections (Python's default is 700): a batch
#: allocates tens of thousands of short-lived objects.
GC_YOUNG_THRESHOLD = 10_000


def metrics_port_for(settings: Settings, stage: str, explicit: int | None = None) -> int:
    if explicit is not None:
        return explicit
    if settings.metrics_port == 0:
        return 0
    return settings.metrics_port + stage_index(stage)


def settle_heap() -> None:
    """Keep the garbage collector off what start-up built, and run it less often.

    Reference data, schemas, rules and clients live as long as the process, yet
    every full collection walks them again; a batch's short-lived records set
    collections off every few hundred allocations. New objects are still
    collected (see docs/performance.md for what it saves).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


#: Seconds the Quix loop gets to stop (and close its consumer) after a watch asked it to, before
#: the process ends without a clean shutdown.
STOP_GRACE_SECONDS = 20.0


class LoopStopper:
    """Stops the stage for a watch that found it broken, and makes sure the process does end.

    A consumer cut off from its group was seen to hang in its close for minutes, so a
    polite stop alone could leave a stage alive and reading nothing. The stop is marked
    failed, so the open checkpoint is dropped rather than committed; if the loop has not
    returned within the grace period the process exits with the watch's code. Nothing is
    lost either way: uncommitted work is redone, and an open transaction is aborted when
    the stage's transactional id starts again.
    """

    def __init__(
        self,
        app: Application,
        stage: str,
        grace_s: float = STOP_GRACE_SECONDS,
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        self.app = app
        self.stage = stage
        self.grace_s = grace_s
        self.exit_process = exit_process
        self.returned = threading.Event()
        self._asked = threading.Lock()
        self._timer: threading.Timer | None = None

    def asker(self, code: int) -> Callable[[str], None]:
        """The on_lost callback for a watch whose finding ends the stage with ``code``."""
        return lambda reason: self.stop(code, reason)

    def stop(self, code: int, reason: str) -> None:
        if not self._asked.acquire(blocking=False):
            return  # another watch asked first; its code stands
        self.app.stop(fail=True)
        self._timer = threading.Timer(self.grace_s, self._force, args=(code, reason))
        self._timer.daemon = True
        self._timer.start()

    def loop_returned(self) -> None:
        self.returned.set()
        if self._timer is not None:
            self._timer.cancel()

    def _force(self, code: int, reason: str) -> None:
        if self.returned.is_set():
            return
        log.error(
            "stage %s stopped (exit %d): %s; the Kafka client did not shut down within %.0f s, so the "
            "process ends without it",
            self.stage,
            code,
            reason,
            self.grace_s,
        )
        logging.shutdown()
        self.exit_process(code)


def prepare_state(settings: Settings, stage: str, on_lost: Callable[[str], None]) -> StateWatch | None:
    """Before consuming: rebuild what Redis lost, wait for what others rebuild, then keep watching.

    Raises DependencyUnavailable (exit 5) when Redis does not answer.
    """
    plan_for = getattr(STAGES[stage], "state_plan", None)
    if plan_for is None:
        return None
    plan = plan_for(settings)
    if plan.gate is not None:  # first: a rebuild may need what the gate waits for (assign: owners)
        plan.gate.wait_ready(limit_s=float("inf"))
    for rebuild in plan.rebuilds:
        rebuild.ensure()
    if not plan.rebuilds:
        return None
    watch = StateWatch(stage, plan.rebuilds, settings.state_check_seconds, on_lost=on_lost)
    watch.start()
    return watch


def run_stage(settings: Settings, stage: str, *, metrics_port: int | None = None) -> int:
    module = STAGES[stage]
    needed = [topics.name(settings, t) for t in topics_needed(module)]
    try:
        missing = topics.missing_topics(settings, needed)
    except KafkaException as error:
        log.error("stage %s: Kafka at %s is unreachable: %s", stage, settings.kafka_bootstrap, error)
        return EXIT_BROKER_UNREACHABLE
    if missing:
        log.error("stage %s: topics %s do not exist; run 'leadroute topics create'", stage, missing)
        return EXIT_TOPICS_MISSING

    stage_health = health.Health(
        stage,
        stats_interval_s=STATS_INTERVAL_MS / 1000,
        stall_after_s=settings.stall_seconds,
        unanswered_after_s=health.unanswered_limit(settings.fetch_wait_max_ms),
    )
    metrics.STAGE_INFO.labels(stage, __version__).set(1)
    port = metrics_port_for(settings, stage, metrics_port)
    try:
        server = health.serve(settings.metrics_host, port, stage_health) if port else None
    except OSError as error:
        log.error(
            "stage %s: cannot serve metrics on %s:%d (%s); set LEADROUTE_METRICS_PORT to a free base port "
            "or 0 to turn the server off",
            stage,
            settings.metrics_host,
            port,
            error.strerror or error,
        )
        return EXIT_SETTINGS
    try:
        try:
            app = build_stage(settings, stage, stage_health)
        except (ConfigError, ValueError) as error:
            log.error("stage %s: bad configuration, not started: %s", stage, error)
            return EXIT_SETTINGS
        log.info(
            "stage %s: %s → %s (group %s-%s, %s, metrics on :%s)",
            stage,
            ", ".join(topics.name(settings, t) for t in getattr(module, "INPUTS", (module.INPUT,))),
            topics.name(settings, module.OUTPUT) if module.OUTPUT else "Redis",
            settings.group_prefix,
            stage,
            settings.processing_guarantee,
            server.server_address[1] if server else "off",
        )
        stage_health.running = True
        stopper = LoopStopper(app, stage)
        watch = prepare_state(settings, stage, stopper.asker(EXIT_DEPENDENCY_DOWN))
        group_watch = health.GroupWatch(
            stage_health, settings.group_rejoin_seconds, on_lost=stopper.asker(EXIT_BROKER_UNREACHABLE)
        ).start()
        settle_heap()
        try:
            app.run()
        finally:
            stopper.loop_returned()
        group_watch.stop()
        if watch is not None:
            watch.stop()
            if watch.lost is not None:
                log.error("stage %s stopped (exit %d): %s", stage, EXIT_DEPENDENCY_DOWN, watch.lost)
                return EXIT_DEPENDENCY_DOWN
        if group_watch.lost is not None:
            log.error("stage %s stopped (exit %d): %s", stage, EXIT_BROKER_UNREACHABLE, group_watch.lost)
            return EXIT_BROKER_UNREACHABLE
    except Exception as error:
        expected = exit_for(error, settings, stage)
        if expected is None:
            raise
        code, sentence = expected
        log.error("stage %s stopped (exit %d): %s", stage, code, sentence)
        return code
    finally:
        stage_health.running = False
        if server is not None:
            server.shutdown()
    log.info("stage %s stopped cleanly", stage)
    return EXIT_OK
