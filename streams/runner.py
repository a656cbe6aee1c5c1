"""Runs one stage in this process: metrics server, topic check, the Quix loop.

Exit codes (also in ``leadroute run --help``): 0 stopped cleanly; 2 bad
settings; 3 topics missing; 4 broker unreachable; 5 a dependency (Redis) down.
"""

from __future__ import annotations

import gc
import logging

from confluent_kafka import KafkaException

from processors.config import ConfigError
from processors.errors import DependencyUnavailable
from streams import __version__, metrics, topics
from streams.app import STATS_INTERVAL_MS, build_stage
from streams.settings import Settings
from streams.stages.registry import STAGES, stage_index, topics_needed

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SETTINGS = 2
EXIT_TOPICS_MISSING = 3
EXIT_BROKER_UNREACHABLE = 4
EXIT_DEPENDENCY_DOWN = 5

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

    health = metrics.Health(stage, stats_interval_s=STATS_INTERVAL_MS / 1000)
    metrics.STAGE_INFO.labels(stage, __version__).set(1)
    port = metrics_port_for(settings, stage, metrics_port)
    server = metrics.serve(settings.metrics_host, port, health) if port else None
    try:
        try:
            app = build_stage(settings, stage, health)
        except (ConfigError, ValueError) as error:
            log.error("stage %s: bad configuration, not started: %s", stage, error)
            return EXIT_SETTINGS
        log.info(
            "stage %s: %s → %s (group %s-%s, %s, metrics on :%s)",
            stage,
            ", ".join(topics.name(settings, t) for t in getattr(module, "INPUTS", (module.INPUT,))),
            topics.name(settings, module.OUTPUT) if module.OUTPUT else "the CRM mirror in Redis",
            settings.group_prefix,
            stage,
            settings.processing_guarantee,
            server.server_address[1] if server else "off",
        )
        health.running = True
        settle_heap()
        app.run()
    except DependencyUnavailable as error:
        log.error("stage %s stopped: %s; the record will be retried after restart", stage, error)
        return EXIT_DEPENDENCY_DOWN
    finally:
        health.running = False
        if server is not None:
            server.shutdown()
    log.info("stage %s stopped cleanly", stage)
    return EXIT_OK
